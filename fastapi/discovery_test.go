package fastapi

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
)

// TestDiscoveryTypesMatchAPI checks that the local aggregated discovery types have the members
// of k8s.io/api/apidiscovery/v2, in the same order, with the same JSON tags.
func TestDiscoveryTypesMatchAPI(t *testing.T) {
	pairs := map[reflect.Type]reflect.Type{
		reflect.TypeFor[apidiscoveryv2.APIGroupDiscoveryList]():   reflect.TypeFor[discoveryList](),
		reflect.TypeFor[apidiscoveryv2.APIGroupDiscovery]():       reflect.TypeFor[discoveryGroup](),
		reflect.TypeFor[apidiscoveryv2.APIVersionDiscovery]():     reflect.TypeFor[discoveryVersion](),
		reflect.TypeFor[apidiscoveryv2.APIResourceDiscovery]():    reflect.TypeFor[discoveryResource](),
		reflect.TypeFor[apidiscoveryv2.APISubresourceDiscovery](): reflect.TypeFor[discoverySubresource](),
	}
	apiPkg := reflect.TypeFor[apidiscoveryv2.APIGroupDiscovery]().PkgPath()
	// same reports whether local stands for api: the paired type, string for the API's string
	// enums, or the very same type.
	var same func(api, local reflect.Type) bool
	same = func(api, local reflect.Type) bool {
		if api.PkgPath() == apiPkg {
			if api.Kind() == reflect.String {
				return local == reflect.TypeFor[string]()
			}
			return pairs[api] == local
		}
		if api.Name() == "" && api.Kind() == local.Kind() && (api.Kind() == reflect.Slice || api.Kind() == reflect.Pointer) {
			return same(api.Elem(), local.Elem())
		}
		return api == local
	}
	for api, local := range pairs {
		if api.NumField() != local.NumField() {
			t.Errorf("%v has %d fields, %v has %d", local, local.NumField(), api, api.NumField())
			continue
		}
		for i := range api.NumField() {
			a, l := api.Field(i), local.Field(i)
			if a.Name != l.Name || a.Anonymous != l.Anonymous || a.Tag.Get("json") != l.Tag.Get("json") || !same(a.Type, l.Type) {
				t.Errorf("%v.%s (%v, json:%q) does not match %v.%s (%v, json:%q)",
					local, l.Name, l.Type, l.Tag.Get("json"), api, a.Name, a.Type, a.Tag.Get("json"))
			}
		}
	}
}

// TestDiscoveryRoundTrip decodes the served aggregated documents into the API types, strictly,
// and encodes them again: the bytes must not change.
func TestDiscoveryRoundTrip(t *testing.T) {
	ts := newTestServer(t)
	for _, path := range []string{"/api", "/apis"} {
		for _, v := range []string{"v2", "v2beta1"} {
			resp, body := ts.do("GET", path, "", "", "Accept", "application/json;g=apidiscovery.k8s.io;v="+v+";as=APIGroupDiscoveryList")
			want := "application/json;g=apidiscovery.k8s.io;v=" + v + ";as=APIGroupDiscoveryList"
			if ct := resp.Header.Get("Content-Type"); ct != want {
				t.Fatalf("%s %s: Content-Type %q, want %q", path, v, ct, want)
			}
			var doc apidiscoveryv2.APIGroupDiscoveryList
			dec := json.NewDecoder(bytes.NewReader([]byte(body)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&doc); err != nil {
				t.Fatalf("%s %s: %v\n%s", path, v, err, body)
			}
			if doc.APIVersion != "apidiscovery.k8s.io/"+v || len(doc.Items) == 0 {
				t.Fatalf("%s %s: %s", path, v, body)
			}
			again, err := json.Marshal(&doc)
			if err != nil {
				t.Fatal(err)
			}
			if string(again) != body {
				t.Errorf("%s %s: served\n%s\nthe API types encode\n%s", path, v, body, again)
			}
		}
	}
}
