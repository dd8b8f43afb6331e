package codec

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"

	"encoding/json"
	"k8s.io/apimachinery/pkg/runtime"
)

// MaxBodyBytes caps every request body k2d decodes: the API server's own limit is 3 MiB for
// objects (etcd's request limit); 4 MiB leaves room for patches and annotations.
const MaxBodyBytes = 4 << 20

// ErrEmptyBody is returned when a write carries no body.
var ErrEmptyBody = errors.New("request body is empty")

// Marshal encodes v as compact JSON, byte for byte as encoding/json does: with the generated
// encoders (zz_generated.encode.go) for the types k2d serves, encoding/json for the rest.
func Marshal(v any) ([]byte, error) { return marshal(v) }

// Unmarshal decodes JSON into v. The input is not retained.
func Unmarshal(data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return ErrEmptyBody
	}
	if suspectQuantities(data) {
		if err := checkQuantities(data, reflect.TypeOf(v)); err != nil {
			return fmt.Errorf("cannot decode JSON: %w", err)
		}
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("cannot decode JSON: %w", err)
	}
	return nil
}

// EncodeObject encodes obj with apiVersion and kind set from k.
func EncodeObject(k *Kind, obj runtime.Object) ([]byte, error) {
	obj.GetObjectKind().SetGroupVersionKind(gvk(k))
	return marshal(obj)
}

// DecodeObject decodes a JSON body into a new object of kind k.
func DecodeObject(k *Kind, body []byte) (runtime.Object, error) {
	obj := k.New()
	if err := Unmarshal(body, obj); err != nil {
		return nil, err
	}
	return obj, nil
}
