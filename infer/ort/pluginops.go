package ort

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
)

// ONNX Runtime 1.29's CUDA plugin provider crashes the process (a null or
// wild function pointer in its pinned-memory path) on Tile, Slice and
// Resize by output size, where the built-in CUDA provider runs them (each
// seen on an H200; microsoft/onnxruntime#28329 is the same family). A
// crash would take the viewer down, so a model that has one runs on the
// CPU instead, with the reason. export.py writes graphs without them.

// pluginCrashOp returns the first operator of the model's main graph that
// the CUDA plugin provider crashes on, or "".
func pluginCrashOp(model string) (string, error) {
	raw, err := os.ReadFile(model)
	if err != nil {
		return "", err
	}
	var found string
	err = fields(raw, func(num int, msg []byte) error { // ModelProto
		if num != 7 {
			return nil
		}
		return fields(msg, func(num int, msg []byte) error { // GraphProto
			if num != 1 || found != "" {
				return nil
			}
			var op string
			var inputs []string
			err := fields(msg, func(num int, v []byte) error { // NodeProto
				switch num {
				case 1:
					inputs = append(inputs, string(v))
				case 4:
					op = string(v)
				}
				return nil
			})
			switch {
			case op == "Tile", op == "Slice", op == "Resize" && len(inputs) > 3 && inputs[3] != "":
				found = op
				if op == "Resize" {
					found = "Resize by output size"
				}
			}
			return err
		})
	})
	if err != nil {
		return "", fmt.Errorf("ort: %s: %v", model, err)
	}
	return found, nil
}

// fields calls fn with each length-delimited field of the protobuf message
// b, skipping the others.
func fields(b []byte, fn func(num int, v []byte) error) error {
	for len(b) > 0 {
		key, n := binary.Uvarint(b)
		if n <= 0 {
			return errors.New("not a protobuf message")
		}
		b = b[n:]
		switch key & 7 {
		case 0:
			if _, n = binary.Uvarint(b); n <= 0 {
				return errors.New("truncated varint")
			}
			b = b[n:]
		case 1, 5:
			size := 8
			if key&7 == 5 {
				size = 4
			}
			if len(b) < size {
				return errors.New("truncated field")
			}
			b = b[size:]
		case 2:
			l, n := binary.Uvarint(b)
			if n <= 0 || l > uint64(len(b)-n) {
				return errors.New("truncated field")
			}
			if err := fn(int(key>>3), b[n:n+int(l)]); err != nil {
				return err
			}
			b = b[n+int(l):]
		default:
			return fmt.Errorf("wire type %d", key&7)
		}
	}
	return nil
}
