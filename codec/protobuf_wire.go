package codec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A reflective protobuf decoder for k8s.io/api types. It replaces the generated gogo-protobuf
// Unmarshal methods: calling those through an interface made the linker keep the Unmarshal of
// every API type (about 1.7 MB on armv7). It reads the field numbers from the `protobuf` struct
// tags and takes the wire shape from the Go type, exactly as go-to-protobuf generated the
// .proto files (the tags' wire-type words are not reliable: "bytes" on some int32 fields).
// It mirrors the generated code, quirks included, so that both accept the same inputs and
// produce the same values:
//   - a nested message merges into the existing value (pointers are allocated when nil),
//     repeated fields append, []byte and scalars replace, pointer scalars get a new pointer;
//   - repeated scalars accept packed and unpacked encodings; packed elements, map keys and map
//     values are read with the bounds of the enclosing message, not of their own field;
//   - the key and value of a map entry are read whatever their wire type, other entry fields
//     are skipped, a missing key or value is the zero value ([]byte{} for bytes);
//   - unknown fields are skipped per wire type, groups included;
//   - metav1.Time keeps whole seconds, metav1.MicroTime microseconds, an empty Time message is
//     the zero time; resource.Quantity is parsed from its string form (field 1).
//
// Not supported, as no served kind reaches them (TestProtobufShapesSupported checks it): named
// slice types that the generated code encodes as messages, such as metav1.Verbs and
// authenticationv1.ExtraValue.

var (
	errPBOverflow  = errors.New("proto: integer overflow")
	errPBLength    = errors.New("proto: negative length found during unmarshaling")
	errPBEndGroup  = errors.New("proto: unexpected end of group")
	errPBWireType  = errors.New("proto: wrong wire type")
	pbTimeType     = reflect.TypeFor[metav1.Time]()
	pbMicroType    = reflect.TypeFor[metav1.MicroTime]()
	pbQuantityType = reflect.TypeFor[resource.Quantity]()
	pbTables       sync.Map // reflect.Type -> map[int32]int: field number -> struct field index
)

// pbDecodable reports whether ptr is a non-nil pointer to a struct with protobuf fields.
func pbDecodable(ptr any) bool {
	v := reflect.ValueOf(ptr)
	return v.Kind() == reflect.Pointer && !v.IsNil() && v.Elem().Kind() == reflect.Struct && len(pbTable(v.Elem().Type())) > 0
}

// pbUnmarshal decodes the protobuf message b into ptr, a pointer to a struct with protobuf tags.
func pbUnmarshal(b []byte, ptr any) error {
	if !pbDecodable(ptr) {
		return fmt.Errorf("%T has no protobuf form", ptr)
	}
	return pbMessage(b, reflect.ValueOf(ptr).Elem())
}

// pbTable returns the field numbers of struct type t. Quantity's string form maps to -1.
func pbTable(t reflect.Type) map[int32]int {
	if m, ok := pbTables.Load(t); ok {
		return m.(map[int32]int)
	}
	m := map[int32]int{}
	if t == pbQuantityType {
		m[1] = -1
	}
	for i := 0; i < t.NumField() && t != pbQuantityType; i++ {
		f := t.Field(i)
		parts := strings.Split(f.Tag.Get("protobuf"), ",")
		if !f.IsExported() || len(parts) < 2 {
			continue
		}
		if n, err := strconv.ParseInt(parts[1], 10, 32); err == nil && n > 0 {
			m[int32(n)] = i
		}
	}
	pbTables.Store(t, m)
	return m
}

// pbMessage decodes the message b into v, an addressable struct.
func pbMessage(b []byte, v reflect.Value) error {
	if t := v.Type(); t == pbTimeType || t == pbMicroType {
		return pbTime(b, v, t == pbMicroType)
	}
	table := pbTable(v.Type())
	for i := 0; i < len(b); {
		start := i
		tag, i2, err := pbVarint(b, i)
		if err != nil {
			return err
		}
		i = i2
		num, wt := int32(tag>>3), int(tag&7)
		if wt == 4 {
			return fmt.Errorf("proto: %s: wiretype end group for non-group", v.Type().Name())
		}
		if num <= 0 {
			return fmt.Errorf("proto: %s: illegal tag %d (wire type %d)", v.Type().Name(), num, wt)
		}
		idx, ok := table[num]
		switch {
		case !ok:
			i, err = pbSkip(b, start)
		case idx < 0: // Quantity
			var s string
			if i, err = pbField(b, i, wt, reflect.ValueOf(&s).Elem()); err == nil {
				var q resource.Quantity
				if err = checkQuantity(s); err != nil {
					return fmt.Errorf("proto: %s: %w", v.Type().Name(), err)
				}
				if q, err = resource.ParseQuantity(s); err == nil {
					*v.Addr().Interface().(*resource.Quantity) = q
				}
			}
		default:
			i, err = pbField(b, i, wt, v.Field(idx))
		}
		if err == errPBWireType {
			name := "String_"
			if idx >= 0 {
				name = v.Type().Field(idx).Name
			}
			return fmt.Errorf("proto: wrong wireType = %d for field %s", wt, name)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// pbTime decodes a Timestamp message into a metav1.Time or metav1.MicroTime.
func pbTime(b []byte, v reflect.Value, micro bool) error {
	var t time.Time
	if len(b) > 0 {
		var ts metav1.Timestamp
		if err := pbMessage(b, reflect.ValueOf(&ts).Elem()); err != nil {
			return err
		}
		var nanos int64
		if micro {
			nanos = int64(time.Duration(ts.Nanos).Truncate(time.Microsecond))
		}
		t = time.Unix(ts.Seconds, nanos).Local()
	}
	v.Field(0).Set(reflect.ValueOf(t))
	return nil
}

// pbField decodes one occurrence of a field with wire type wt, starting at b[i], into v.
// It returns the index after the field.
func pbField(b []byte, i, wt int, v reflect.Value) (int, error) {
	t := v.Type()
	switch t.Kind() {
	case reflect.Pointer:
		if t.Elem().Kind() == reflect.Struct {
			if wt != 2 {
				return i, errPBWireType
			}
			start, end, err := pbLen(b, i)
			if err != nil {
				return i, err
			}
			if v.IsNil() {
				v.Set(reflect.New(t.Elem()))
			}
			return end, pbMessage(b[start:end], v.Elem())
		}
		p := reflect.New(t.Elem())
		i, err := pbField(b, i, wt, p.Elem())
		if err == nil {
			v.Set(p)
		}
		return i, err
	case reflect.Struct, reflect.Map, reflect.String:
		if wt != 2 {
			return i, errPBWireType
		}
		start, end, err := pbLen(b, i)
		switch {
		case err != nil:
		case t.Kind() == reflect.String:
			v.SetString(string(b[start:end]))
		case t.Kind() == reflect.Map:
			err = pbMapEntry(b, start, end, v)
		default:
			err = pbMessage(b[start:end], v)
		}
		return end, err
	case reflect.Slice:
		et := t.Elem()
		if et.Kind() == reflect.Uint8 {
			if wt != 2 {
				return i, errPBWireType
			}
			start, end, err := pbLen(b, i)
			if err == nil {
				v.SetBytes(append([]byte{}, b[start:end]...))
			}
			return end, err
		}
		if ewt := pbWireType(et); wt == 2 && ewt != 2 { // packed scalars
			start, end, err := pbLen(b, i)
			for i = start; err == nil && i < end; {
				e := reflect.New(et).Elem()
				if i, err = pbField(b, i, ewt, e); err == nil {
					v.Set(reflect.Append(v, e))
				}
			}
			return i, err
		}
		e := reflect.New(et).Elem()
		i, err := pbField(b, i, wt, e)
		if err == nil {
			v.Set(reflect.Append(v, e))
		}
		return i, err
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if wt != 0 {
			return i, errPBWireType
		}
		x, i, err := pbVarint(b, i)
		switch {
		case err != nil:
		case t.Kind() == reflect.Bool:
			v.SetBool(x != 0)
		case v.CanInt():
			v.SetInt(int64(x))
		default:
			v.SetUint(x)
		}
		return i, err
	case reflect.Float64:
		if wt != 1 {
			return i, errPBWireType
		}
		if len(b)-i < 8 {
			return i, io.ErrUnexpectedEOF
		}
		v.SetFloat(math.Float64frombits(binary.LittleEndian.Uint64(b[i:])))
		return i + 8, nil
	case reflect.Float32:
		if wt != 5 {
			return i, errPBWireType
		}
		if len(b)-i < 4 {
			return i, io.ErrUnexpectedEOF
		}
		v.SetFloat(float64(math.Float32frombits(binary.LittleEndian.Uint32(b[i:]))))
		return i + 4, nil
	}
	return i, fmt.Errorf("proto: cannot decode into %s", t)
}

// pbMapEntry decodes the map entry b[i:end] into map m. Like the generated code, it reads the
// key (1) and value (2) whatever their wire type and within the bounds of b.
func pbMapEntry(b []byte, i, end int, m reflect.Value) error {
	t := m.Type()
	if m.IsNil() {
		m.Set(reflect.MakeMap(t))
	}
	key, val := reflect.New(t.Key()).Elem(), pbMapValue(t.Elem())
	for i < end {
		start := i
		tag, i2, err := pbVarint(b, i)
		if err != nil {
			return err
		}
		switch int32(tag >> 3) {
		case 1:
			i, err = pbField(b, i2, pbWireType(t.Key()), key)
		case 2:
			val = pbMapValue(t.Elem())
			i, err = pbField(b, i2, pbWireType(t.Elem()), val)
		default:
			if i, err = pbSkip(b, start); err == nil && i > end {
				err = io.ErrUnexpectedEOF
			}
		}
		if err != nil {
			return err
		}
	}
	m.SetMapIndex(key, val)
	return nil
}

// pbMapValue returns a new zero map value: []byte{} for bytes, as the generated code does.
func pbMapValue(t reflect.Type) reflect.Value {
	v := reflect.New(t).Elem()
	if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 {
		v.Set(reflect.MakeSlice(t, 0, 0))
	}
	return v
}

// pbWireType is the wire type of a single value of Go type t.
func pbWireType(t reflect.Type) int {
	switch t.Kind() {
	case reflect.Pointer:
		if t.Elem().Kind() != reflect.Struct {
			return pbWireType(t.Elem())
		}
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return 0
	case reflect.Float64:
		return 1
	case reflect.Float32:
		return 5
	}
	return 2
}

// pbVarint reads a varint at b[i] (at most 10 bytes) and returns it and the index after it.
func pbVarint(b []byte, i int) (uint64, int, error) {
	var x uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if i >= len(b) {
			return 0, i, io.ErrUnexpectedEOF
		}
		c := b[i]
		i++
		x |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return x, i, nil
		}
	}
	return 0, i, errPBOverflow
}

// pbLen reads a length prefix at b[i] and returns the bounds of the bytes it announces.
func pbLen(b []byte, i int) (start, end int, err error) {
	x, i, err := pbVarint(b, i)
	n := int(x)
	switch {
	case err != nil:
		return i, i, err
	case n < 0:
		return i, i, errPBLength
	case n > len(b)-i:
		return i, i, io.ErrUnexpectedEOF
	}
	return i, i + n, nil
}

// pbSkip skips the field (tag included) at b[i], groups included, and returns the index after it.
func pbSkip(b []byte, i int) (int, error) {
	depth := 0
	for i < len(b) {
		tag, i2, err := pbVarint(b, i)
		if err != nil {
			return i, err
		}
		i = i2
		switch tag & 7 {
		case 0:
			_, i, err = pbVarint(b, i)
		case 1, 5:
			n := 8
			if tag&7 == 5 {
				n = 4
			}
			if len(b)-i < n {
				return i, io.ErrUnexpectedEOF
			}
			i += n
		case 2:
			_, i, err = pbLen(b, i)
		case 3:
			depth++
		case 4:
			if depth == 0 {
				return i, errPBEndGroup
			}
			depth--
		default:
			return i, fmt.Errorf("proto: illegal wireType %d", tag&7)
		}
		if err != nil {
			return i, err
		}
		if depth == 0 {
			return i, nil
		}
	}
	return i, io.ErrUnexpectedEOF
}
