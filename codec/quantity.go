package codec

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// resource.ParseQuantity rounds every quantity to nano units with arbitrary-precision
// arithmetic, so its cost grows with the exponent: "1e-99999999" takes 43 s of CPU on an
// amd64 core (minutes on an ARM device), and one such value in any write would hold k2d. k2d
// refuses quantities whose exponent or length is beyond these bounds before parsing them. The
// bounds are far outside any real quantity (the largest int64 is about 9.2e18, the finest unit
// is 1e-9), and a bounded value parses in microseconds.
const (
	maxQuantityExponent = 1000
	maxQuantityLen      = 256
)

// checkQuantity reports whether s is too costly to parse as a quantity.
func checkQuantity(s string) error {
	if len(s) > maxQuantityLen {
		return fmt.Errorf("quantity is %d characters long; at most %d are accepted", len(s), maxQuantityLen)
	}
	i := strings.IndexAny(s, "eE")
	if i < 0 || i+1 >= len(s) {
		return nil
	}
	e, err := strconv.ParseInt(s[i+1:], 10, 64)
	if errors.Is(err, strconv.ErrRange) || err == nil && (e > maxQuantityExponent || e < -maxQuantityExponent) {
		return fmt.Errorf("quantity %q: the exponent is out of range (at most %d either way)", s, maxQuantityExponent)
	}
	return nil
}

// suspectQuantities is a one-pass scan of a JSON body for text checkQuantity could refuse: an
// exponent of four or more digits after a digit or '.', or a run of more than maxQuantityLen
// digits. Bodies without either (nearly all) skip the typed walk of checkQuantities.
func suspectQuantities(data []byte) bool {
	run := 0 // length of the current run of digits
	for i := 0; i < len(data); i++ {
		c := data[i]
		if c >= '0' && c <= '9' {
			if run++; run > maxQuantityLen {
				return true
			}
			continue
		}
		run = 0
		if (c == 'e' || c == 'E') && i > 0 && (data[i-1] >= '0' && data[i-1] <= '9' || data[i-1] == '.') {
			j := i + 1
			if j < len(data) && (data[j] == '-' || data[j] == '+') {
				j++
			}
			n := 0
			for j < len(data) && data[j] >= '0' && data[j] <= '9' {
				j, n = j+1, n+1
			}
			if n >= 4 {
				return true
			}
		}
	}
	return false
}

var quantityType = reflect.TypeFor[resource.Quantity]()

// checkQuantities walks the JSON body along the Go type t, as encoding/json will decode it
// (field names matched case-insensitively, embedded structs promoted), and checks every string
// that lands in a resource.Quantity. Other strings, such as a ConfigMap value, are not quantities
// and are never refused.
func checkQuantities(data []byte, t reflect.Type) error {
	var tree any
	if json.Unmarshal(data, &tree) != nil {
		return nil // not JSON: the typed decode reports it
	}
	return walkQuantities(tree, t, "")
}

func walkQuantities(v any, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == quantityType {
		if s, ok := v.(string); ok {
			if err := checkQuantity(s); err != nil {
				return fmt.Errorf("%s: %w", strings.TrimPrefix(path, "."), err)
			}
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			switch {
			case name == "-" || !f.IsExported() && !f.Anonymous:
				continue
			case f.Anonymous && name == "":
				if err := walkQuantities(v, f.Type, path); err != nil {
					return err
				}
				continue
			case name == "":
				name = f.Name
			}
			for k, x := range m {
				if strings.EqualFold(k, name) {
					if err := walkQuantities(x, f.Type, path+"."+name); err != nil {
						return err
					}
				}
			}
		}
	case reflect.Slice, reflect.Array:
		a, ok := v.([]any)
		if !ok {
			return nil
		}
		for i, x := range a {
			if err := walkQuantities(x, t.Elem(), path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		for k, x := range m {
			if err := walkQuantities(x, t.Elem(), path+"["+k+"]"); err != nil {
				return err
			}
		}
	}
	return nil
}
