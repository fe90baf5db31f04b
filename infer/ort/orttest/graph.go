// Package orttest writes small ONNX models from Go, so that tests of the
// ONNX Runtime code build the graphs they run (with the real graphs' input
// and output names and shapes) without Python or committed model files.
//
// It encodes the protobuf wire format of onnx.proto directly: a model is a
// handful of nested messages, and only the fields written here are needed.
package orttest

import (
	"encoding/binary"
	"math"
	"os"
)

// Opset is the ONNX operator set the models declare (Unsqueeze and the
// reductions take their axes as inputs from 13 and 18 on; see the op docs).
const Opset = 17

// irVersion 8 is the IR of opset 17 (ONNX 1.12).
const irVersion = 8

// Element types of onnx.TensorProto.DataType.
const (
	Float = 1
	Int64 = 7
)

// Graph is an ONNX graph under construction. Node order must be topological.
type Graph struct {
	nodes, inits, inputs, outputs [][]byte
}

// Attr is one node attribute: an int, a list of ints or a float.
type Attr struct{ enc []byte }

// Int is an integer attribute.
func Int(name string, v int64) Attr {
	var b buf
	b.str(1, name)
	b.varint(3, uint64(v))
	b.varint(20, 2) // AttributeProto.INT
	return Attr{b}
}

// Ints is an attribute holding a list of integers.
func Ints(name string, v ...int64) Attr {
	var b buf
	b.str(1, name)
	for _, x := range v {
		b.varint(8, uint64(x))
	}
	b.varint(20, 7) // AttributeProto.INTS
	return Attr{b}
}

// FloatAttr is a float attribute.
func FloatAttr(name string, v float32) Attr {
	var b buf
	b.str(1, name)
	b.fixed32(2, math.Float32bits(v))
	b.varint(20, 1) // AttributeProto.FLOAT
	return Attr{b}
}

// Input declares a float32 graph input; a negative dimension is dynamic.
func (g *Graph) Input(name string, shape ...int64) {
	g.inputs = append(g.inputs, valueInfo(name, Float, shape))
}

// InputInt64 declares an int64 graph input (token ids); a negative
// dimension is dynamic.
func (g *Graph) InputInt64(name string, shape ...int64) {
	g.inputs = append(g.inputs, valueInfo(name, Int64, shape))
}

// Output declares a float32 graph output; a negative dimension is dynamic.
func (g *Graph) Output(name string, shape ...int64) {
	g.outputs = append(g.outputs, valueInfo(name, Float, shape))
}

// Floats adds a float32 constant (an initializer).
func (g *Graph) Floats(name string, shape []int64, data []float32) {
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	g.inits = append(g.inits, tensor(name, Float, shape, raw))
}

// Int64s adds an int64 constant (shapes, axes, repeats).
func (g *Graph) Int64s(name string, data ...int64) {
	raw := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	g.inits = append(g.inits, tensor(name, Int64, []int64{int64(len(data))}, raw))
}

// Node appends an operator of the default domain.
func (g *Graph) Node(op string, inputs, outputs []string, attrs ...Attr) {
	var b buf
	for _, s := range inputs {
		b.str(1, s)
	}
	for _, s := range outputs {
		b.str(2, s)
	}
	b.str(4, op)
	for _, a := range attrs {
		b.bytes(5, a.enc)
	}
	g.nodes = append(g.nodes, b)
}

// Model is the serialised ModelProto.
func (g *Graph) Model() []byte {
	var graph buf
	for _, n := range g.nodes {
		graph.bytes(1, n)
	}
	graph.str(2, "orttest")
	for _, t := range g.inits {
		graph.bytes(5, t)
	}
	for _, v := range g.inputs {
		graph.bytes(11, v)
	}
	for _, v := range g.outputs {
		graph.bytes(12, v)
	}
	var opset buf
	opset.str(1, "")
	opset.varint(2, Opset)
	var m buf
	m.varint(1, irVersion)
	m.str(2, "segvol orttest")
	m.bytes(7, graph)
	m.bytes(8, opset)
	return m
}

// Write saves the model to path.
func (g *Graph) Write(path string) error { return os.WriteFile(path, g.Model(), 0o644) }

func tensor(name string, elem int, shape []int64, raw []byte) []byte {
	var b buf
	for _, d := range shape {
		b.varint(1, uint64(d))
	}
	b.varint(2, uint64(elem))
	b.str(8, name)
	b.bytes(9, raw)
	return b
}

// valueInfo is a ValueInfoProto of a tensor; a dimension with neither value
// nor name set is dynamic.
func valueInfo(name string, elem int, shape []int64) []byte {
	var dims buf
	for _, d := range shape {
		var dim buf
		if d >= 0 {
			dim.varint(1, uint64(d))
		}
		dims.bytes(1, dim)
	}
	var tt buf
	tt.varint(1, uint64(elem))
	tt.bytes(2, dims)
	var typ buf
	typ.bytes(1, tt)
	var b buf
	b.str(1, name)
	b.bytes(2, typ)
	return b
}

// buf appends protobuf fields (wire types 0 varint, 2 bytes, 5 fixed32).
type buf []byte

func (b *buf) tag(field, wire int) { *b = binary.AppendUvarint(*b, uint64(field<<3|wire)) }

func (b *buf) varint(field int, v uint64) {
	b.tag(field, 0)
	*b = binary.AppendUvarint(*b, v)
}

func (b *buf) fixed32(field int, v uint32) {
	b.tag(field, 5)
	*b = binary.LittleEndian.AppendUint32(*b, v)
}

func (b *buf) bytes(field int, v []byte) {
	b.tag(field, 2)
	*b = binary.AppendUvarint(*b, uint64(len(v)))
	*b = append(*b, v...)
}

func (b *buf) str(field int, s string) { b.bytes(field, []byte(s)) }
