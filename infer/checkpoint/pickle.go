package checkpoint

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
)

// The unpickler below runs the opcodes of pickle protocols 2 to 5 that data
// need, and builds Go values: nil, bool, int64, float64, string, []byte,
// tuple, *list, *dict, and for torch the storage and tensor descriptors.
// Python objects come only from the globals in allowed; every other global
// is refused when the pickle names it, before anything could call it, as
// are the opcodes that build arbitrary objects (INST, OBJ, NEWOBJ, EXT*).

type (
	tuple []any
	list  struct{ items []any }
	dict  struct {
		keys, vals []any
		index      map[any]int // scalar keys, for Python's overwrite on a repeated key
	}
	mark struct{}

	// global is an allowed Python callable, by its dotted name.
	global string
	// storageType is one of torch's typed storage classes.
	storageType DType

	// storage is what persistent_load returns for torch's
	// ('storage', type, key, location, numel).
	storage struct {
		key   string
		dtype DType
		numel int64
	}
	// rawTensor is what _rebuild_tensor_v2 returns.
	rawTensor struct {
		st             *storage
		offset         int64
		shape, strides []int64
	}
)

func newDict() *dict { return &dict{index: map[any]int{}} }

func (d *dict) set(k, v any) error {
	switch k.(type) {
	case nil, bool, int64, float64, string:
		if i, ok := d.index[k]; ok {
			d.vals[i] = v
			return nil
		}
		d.index[k] = len(d.keys)
	case tuple:
	default:
		return fmt.Errorf("unhashable dict key of type %s", typeName(k))
	}
	d.keys = append(d.keys, k)
	d.vals = append(d.vals, v)
	return nil
}

// The callables a state dict of tensors needs: what torch.load with
// weights_only=True allows, less what no state dict holds.
const (
	orderedDict       global = "collections.OrderedDict"
	rebuildTensor     global = "torch._utils._rebuild_tensor_v2"
	rebuildParam      global = "torch._utils._rebuild_parameter"
	rebuildParamState global = "torch._utils._rebuild_parameter_with_state"
)

func allowed(module, name string) (any, bool) {
	switch g := global(module + "." + name); g {
	case orderedDict, rebuildTensor, rebuildParam, rebuildParamState:
		return g, true
	}
	if module == "torch" {
		for d := range dtypes {
			if d > 0 && dtypes[d].storage == name {
				return storageType(d), true
			}
		}
	}
	return nil, false
}

// refusal is the error for a pickle that asks for more than data.
func refusal(what string) error {
	return fmt.Errorf("refused: the pickle asks for %s, which torch.load would run; a checkpoint may hold only tensors, their storages, OrderedDict and plain values", what)
}

// maxPickle bounds the pickle read into memory: a state dict's pickle is
// about 100 bytes per tensor.
const maxPickle = 256 << 20

type unpickler struct {
	b      []byte
	pos    int
	stack  []any
	memo   map[int64]any
	persid func(tuple) (any, error)
}

// unpickle runs a pickle; persid resolves BINPERSID's ids.
func unpickle(b []byte, persid func(tuple) (any, error)) (any, error) {
	u := &unpickler{b: b, memo: map[int64]any{}, persid: persid}
	v, err := u.run()
	if err != nil {
		return nil, fmt.Errorf("pickle at byte %d: %w", u.pos, err)
	}
	return v, nil
}

var errTruncated = errors.New("truncated")

func (u *unpickler) read(n int) ([]byte, error) {
	if n < 0 || n > len(u.b)-u.pos {
		return nil, errTruncated
	}
	s := u.b[u.pos : u.pos+n]
	u.pos += n
	return s, nil
}

func (u *unpickler) uint(n int) (uint64, error) {
	s, err := u.read(n)
	if err != nil {
		return 0, err
	}
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(s[i])
	}
	return v, nil
}

func (u *unpickler) line() (string, error) {
	i := strings.IndexByte(string(u.b[u.pos:]), '\n')
	if i < 0 {
		return "", errTruncated
	}
	s := string(u.b[u.pos : u.pos+i])
	u.pos += i + 1
	return s, nil
}

func (u *unpickler) push(v any) { u.stack = append(u.stack, v) }

func (u *unpickler) pop() (any, error) {
	if len(u.stack) == 0 || u.stack[len(u.stack)-1] == (mark{}) {
		return nil, errors.New("stack underflow")
	}
	v := u.stack[len(u.stack)-1]
	u.stack = u.stack[:len(u.stack)-1]
	return v, nil
}

func (u *unpickler) top() (any, error) {
	if len(u.stack) == 0 || u.stack[len(u.stack)-1] == (mark{}) {
		return nil, errors.New("stack underflow")
	}
	return u.stack[len(u.stack)-1], nil
}

// popMark pops what lies above the last mark, and the mark.
func (u *unpickler) popMark() ([]any, error) {
	for m := len(u.stack) - 1; m >= 0; m-- {
		if u.stack[m] == (mark{}) {
			items := append([]any(nil), u.stack[m+1:]...)
			u.stack = u.stack[:m]
			return items, nil
		}
	}
	return nil, errors.New("no mark")
}

// popN pops the n items on top, none of them a mark.
func (u *unpickler) popN(n int) ([]any, error) {
	if len(u.stack) < n {
		return nil, errors.New("stack underflow")
	}
	items := append([]any(nil), u.stack[len(u.stack)-n:]...)
	for _, v := range items {
		if v == (mark{}) {
			return nil, errors.New("stack underflow")
		}
	}
	u.stack = u.stack[:len(u.stack)-n]
	return items, nil
}

// items pops the operands of an opcode that comes in two forms: n items
// (APPEND, SETITEM) or all above the mark (APPENDS, SETITEMS).
func (u *unpickler) items(single bool, n int) ([]any, error) {
	if single {
		return u.popN(n)
	}
	return u.popMark()
}

// sized reads a length of n bytes, then that many bytes.
func (u *unpickler) sized(n int) ([]byte, error) {
	l, err := u.uint(n)
	if err != nil {
		return nil, err
	}
	if l > uint64(len(u.b)) {
		return nil, errTruncated
	}
	return u.read(int(l))
}

func (u *unpickler) run() (any, error) {
	for {
		op, err := u.read(1)
		if err != nil {
			return nil, err
		}
		if err := u.step(op[0]); err != nil {
			if err == errStop {
				if len(u.stack) != 1 {
					return nil, errors.New("STOP with a malformed stack")
				}
				return u.stack[0], nil
			}
			return nil, err
		}
	}
}

var errStop = errors.New("stop")

func (u *unpickler) step(op byte) error {
	switch op {
	case 0x80: // PROTO
		v, err := u.uint(1)
		if err != nil {
			return err
		}
		if v > 5 {
			return fmt.Errorf("pickle protocol %d", v)
		}
	case 0x95: // FRAME: a hint for buffered readers
		_, err := u.uint(8)
		return err
	case '.': // STOP
		return errStop
	case '(': // MARK
		u.push(mark{})
	case '0': // POP
		if len(u.stack) > 0 && u.stack[len(u.stack)-1] == (mark{}) {
			_, err := u.popMark()
			return err
		}
		_, err := u.pop()
		return err
	case '1': // POP_MARK
		_, err := u.popMark()
		return err
	case '2': // DUP
		v, err := u.top()
		if err != nil {
			return err
		}
		u.push(v)
	case 'N':
		u.push(nil)
	case 0x88:
		u.push(true)
	case 0x89:
		u.push(false)
	case 'K': // BININT1
		v, err := u.uint(1)
		if err != nil {
			return err
		}
		u.push(int64(v))
	case 'M': // BININT2
		v, err := u.uint(2)
		if err != nil {
			return err
		}
		u.push(int64(v))
	case 'J': // BININT
		v, err := u.uint(4)
		if err != nil {
			return err
		}
		u.push(int64(int32(uint32(v))))
	case 0x8a, 0x8b: // LONG1, LONG4: little-endian two's complement
		n := 1
		if op == 0x8b {
			n = 4
		}
		s, err := u.sized(n)
		if err != nil {
			return err
		}
		if len(s) > 8 {
			return fmt.Errorf("integer of %d bytes", len(s))
		}
		var v uint64
		for i := len(s) - 1; i >= 0; i-- {
			v = v<<8 | uint64(s[i])
		}
		if len(s) > 0 && len(s) < 8 && s[len(s)-1]&0x80 != 0 {
			v |= ^uint64(0) << (8 * len(s))
		}
		u.push(int64(v))
	case 'G': // BINFLOAT, big-endian
		s, err := u.read(8)
		if err != nil {
			return err
		}
		u.push(math.Float64frombits(binary.BigEndian.Uint64(s)))
	case 'X', 0x8c, 0x8d, 'T', 'U': // unicode and Python 2 strings
		n := map[byte]int{'X': 4, 0x8c: 1, 0x8d: 8, 'T': 4, 'U': 1}[op]
		s, err := u.sized(n)
		if err != nil {
			return err
		}
		u.push(string(s))
	case 'B', 'C', 0x8e: // bytes
		n := map[byte]int{'B': 4, 'C': 1, 0x8e: 8}[op]
		s, err := u.sized(n)
		if err != nil {
			return err
		}
		u.push(append([]byte(nil), s...))
	case ')':
		u.push(tuple{})
	case 't':
		items, err := u.popMark()
		if err != nil {
			return err
		}
		u.push(tuple(items))
	case 0x85, 0x86, 0x87: // TUPLE1..3
		items, err := u.popN(int(op - 0x84))
		if err != nil {
			return err
		}
		u.push(tuple(items))
	case ']':
		u.push(&list{})
	case 'l':
		items, err := u.popMark()
		if err != nil {
			return err
		}
		u.push(&list{items: items})
	case 'a', 'e': // APPEND, APPENDS
		items, err := u.items(op == 'a', 1)
		if err != nil {
			return err
		}
		l, err := u.top()
		if err != nil {
			return err
		}
		ls, ok := l.(*list)
		if !ok {
			return fmt.Errorf("append to a %s", typeName(l))
		}
		ls.items = append(ls.items, items...)
	case 0x8f: // EMPTY_SET: a list will do, state dicts hold no sets
		u.push(&list{})
	case 0x90: // ADDITEMS
		return u.step('e')
	case 0x91: // FROZENSET
		return u.step('l')
	case '}':
		u.push(newDict())
	case 'd':
		items, err := u.popMark()
		if err != nil {
			return err
		}
		d := newDict()
		if err := setItems(d, items); err != nil {
			return err
		}
		u.push(d)
	case 's', 'u': // SETITEM, SETITEMS
		items, err := u.items(op == 's', 2)
		if err != nil {
			return err
		}
		d, err := u.top()
		if err != nil {
			return err
		}
		dd, ok := d.(*dict)
		if !ok {
			return fmt.Errorf("setitem on a %s", typeName(d))
		}
		return setItems(dd, items)
	case 'q', 'r': // BINPUT, LONG_BINPUT
		n := map[byte]int{'q': 1, 'r': 4}[op]
		i, err := u.uint(n)
		if err != nil {
			return err
		}
		v, err := u.top()
		if err != nil {
			return err
		}
		u.memo[int64(i)] = v
	case 0x94: // MEMOIZE
		v, err := u.top()
		if err != nil {
			return err
		}
		u.memo[int64(len(u.memo))] = v
	case 'h', 'j': // BINGET, LONG_BINGET
		n := map[byte]int{'h': 1, 'j': 4}[op]
		i, err := u.uint(n)
		if err != nil {
			return err
		}
		v, ok := u.memo[int64(i)]
		if !ok {
			return fmt.Errorf("memo %d unset", i)
		}
		u.push(v)
	case 'c': // GLOBAL
		module, err := u.line()
		if err != nil {
			return err
		}
		name, err := u.line()
		if err != nil {
			return err
		}
		return u.global(module, name)
	case 0x93: // STACK_GLOBAL
		name, err := u.pop()
		if err != nil {
			return err
		}
		module, err := u.pop()
		if err != nil {
			return err
		}
		m, ok1 := module.(string)
		n, ok2 := name.(string)
		if !ok1 || !ok2 {
			return errors.New("STACK_GLOBAL of non-strings")
		}
		return u.global(m, n)
	case 'R': // REDUCE
		args, err := u.pop()
		if err != nil {
			return err
		}
		fn, err := u.pop()
		if err != nil {
			return err
		}
		a, ok := args.(tuple)
		if !ok {
			return fmt.Errorf("REDUCE with %s arguments", typeName(args))
		}
		v, err := call(fn, a)
		if err != nil {
			return err
		}
		u.push(v)
	case 'b': // BUILD: only an OrderedDict's attributes (torch's _metadata)
		if _, err := u.pop(); err != nil {
			return err
		}
		obj, err := u.top()
		if err != nil {
			return err
		}
		if _, ok := obj.(*dict); !ok {
			return refusal(fmt.Sprintf("setting the state of a %s", typeName(obj)))
		}
	case 'Q': // BINPERSID
		id, err := u.pop()
		if err != nil {
			return err
		}
		t, ok := id.(tuple)
		if !ok || u.persid == nil {
			return fmt.Errorf("persistent id %s", typeName(id))
		}
		v, err := u.persid(t)
		if err != nil {
			return err
		}
		u.push(v)
	case 'i': // INST: module and class inline
		module, _ := u.line()
		name, _ := u.line()
		return refusal(module + "." + name)
	case 'o', 0x81, 0x92: // OBJ, NEWOBJ, NEWOBJ_EX: a class is instantiated
		return refusal("an object to be constructed (OBJ/NEWOBJ)")
	case 0x82, 0x83, 0x84: // EXT1, EXT2, EXT4: copyreg's registry
		return refusal("a global from copyreg's extension registry")
	default:
		return fmt.Errorf("unsupported pickle opcode 0x%02x", op)
	}
	return nil
}

func setItems(d *dict, items []any) error {
	if len(items)%2 != 0 {
		return errors.New("odd number of dict items")
	}
	for i := 0; i < len(items); i += 2 {
		if err := d.set(items[i], items[i+1]); err != nil {
			return err
		}
	}
	return nil
}

func (u *unpickler) global(module, name string) error {
	v, ok := allowed(module, name)
	if !ok {
		return refusal(module + "." + name)
	}
	u.push(v)
	return nil
}

// call runs an allowed callable; anything else on the stack is not one.
func call(fn any, a tuple) (any, error) {
	switch fn {
	case orderedDict:
		d := newDict()
		if len(a) == 0 {
			return d, nil
		}
		return nil, fmt.Errorf("%s with arguments", orderedDict)
	case rebuildTensor:
		return tensorArgs(a)
	case rebuildParam, rebuildParamState:
		if len(a) < 1 {
			return nil, fmt.Errorf("%s without arguments", fn)
		}
		if _, ok := a[0].(*rawTensor); !ok {
			return nil, fmt.Errorf("%s of a %s", fn, typeName(a[0]))
		}
		return a[0], nil
	}
	if st, ok := fn.(storageType); ok {
		return nil, refusal(fmt.Sprintf("torch.%s to be called", dtypes[st].storage))
	}
	return nil, fmt.Errorf("REDUCE of a %s", typeName(fn))
}

// tensorArgs reads _rebuild_tensor_v2(storage, storage_offset, size,
// stride, requires_grad, backward_hooks[, metadata]).
func tensorArgs(a tuple) (any, error) {
	if len(a) < 4 {
		return nil, fmt.Errorf("%s with %d arguments", rebuildTensor, len(a))
	}
	st, ok1 := a[0].(*storage)
	off, ok2 := a[1].(int64)
	shape, ok3 := ints(a[2])
	strides, ok4 := ints(a[3])
	if !ok1 || !ok2 || !ok3 || !ok4 || len(shape) != len(strides) {
		return nil, fmt.Errorf("%s with arguments %s, %s, %s, %s", rebuildTensor, typeName(a[0]), typeName(a[1]), typeName(a[2]), typeName(a[3]))
	}
	return &rawTensor{st: st, offset: off, shape: shape, strides: strides}, nil
}

func ints(v any) ([]int64, bool) {
	t, ok := v.(tuple)
	if !ok {
		return nil, false
	}
	out := make([]int64, len(t))
	for i, x := range t {
		if out[i], ok = x.(int64); !ok {
			return nil, false
		}
	}
	return out, true
}

func typeName(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case global:
		return string(v)
	case storageType:
		return "torch." + dtypes[v].storage
	case *rawTensor:
		return "tensor"
	case *storage:
		return "storage"
	case tuple:
		return "tuple"
	case *list:
		return "list"
	case *dict:
		return "dict"
	}
	return fmt.Sprintf("%T", v)
}
