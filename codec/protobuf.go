package codec

import (
	"bytes"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// MimeProtobuf is the media type of Kubernetes' protobuf encoding. kubectl sends it for the
// objects its generators build (`kubectl create namespace`, `kubectl run`), so k2d must read
// it; it always answers in JSON, which clients accept.
const MimeProtobuf = "application/vnd.kubernetes.protobuf"

// protobufMagic starts every Kubernetes protobuf message: "k8s\x00".
var protobufMagic = []byte{0x6b, 0x38, 0x73, 0x00}

// DecodeProtobuf decodes a Kubernetes protobuf envelope (magic, then a runtime.Unknown that
// wraps the object) into a new object of kind k.
func DecodeProtobuf(k *Kind, body []byte) (runtime.Object, error) {
	obj := k.New()
	if err := DecodeProtobufInto(body, obj); err != nil {
		return nil, err
	}
	return obj, nil
}

// DecodeProtobufInto decodes a Kubernetes protobuf envelope into obj. It uses the reflective
// decoder of protobuf_wire.go, not the generated Unmarshal methods of k8s.io/api: calling
// those through an interface links every one of them into the binary.
func DecodeProtobufInto(body []byte, obj runtime.Object) error {
	if !bytes.HasPrefix(body, protobufMagic) {
		return errors.New("cannot decode protobuf: the body does not start with the Kubernetes protobuf prefix")
	}
	var u runtime.Unknown
	if err := pbUnmarshal(body[len(protobufMagic):], &u); err != nil {
		return fmt.Errorf("cannot decode protobuf envelope: %w", err)
	}
	if !pbDecodable(obj) {
		return fmt.Errorf("cannot decode protobuf: %T has no protobuf form", obj)
	}
	if err := pbUnmarshal(u.Raw, obj); err != nil {
		return fmt.Errorf("cannot decode protobuf %s: %w", u.Kind, err)
	}
	if u.APIVersion != "" || u.Kind != "" {
		gv, err := schema.ParseGroupVersion(u.APIVersion)
		if err != nil {
			return fmt.Errorf("cannot decode protobuf: %w", err)
		}
		obj.GetObjectKind().SetGroupVersionKind(gv.WithKind(u.Kind))
	}
	return nil
}
