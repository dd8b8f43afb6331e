package codec

// This file: ConfigMaps, Secrets and ServiceAccounts: defaulting, validation and Table rows
// as the API server has them (pkg/apis/core/v1 defaults and conversion,
// pkg/apis/core/validation, pkg/printers/internalversion).

import (
	"encoding/json"
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func init() {
	dfltRegister(dfltSecret)
	vldKinds["configmaps"] = vldTyped(vldConfigMapCreate, vldConfigMapUpdate)
	vldKinds["secrets"] = vldTyped(vldSecretCreate, vldSecretUpdate)
	vldKinds["serviceaccounts"] = vldTyped(vldServiceAccountCreate, vldServiceAccountUpdate)

	meta := metav1.ObjectMeta{}.SwaggerDoc()
	name := metav1.TableColumnDefinition{Name: "Name", Type: "string", Format: "name", Description: meta["name"]}
	age := metav1.TableColumnDefinition{Name: "Age", Type: "string", Description: meta["creationTimestamp"]}
	tblKinds["configmaps"] = &tblPrinter{
		columns: []metav1.TableColumnDefinition{name, {Name: "Data", Type: "string", Description: corev1.ConfigMap{}.SwaggerDoc()["data"]}, age},
		row: tblTyped(func(cm *corev1.ConfigMap, now time.Time) []any {
			return []any{cm.Name, int64(len(cm.Data) + len(cm.BinaryData)), tblAge(cm.CreationTimestamp.Time, now)}
		}),
	}
	sdoc := corev1.Secret{}.SwaggerDoc()
	tblKinds["secrets"] = &tblPrinter{
		columns: []metav1.TableColumnDefinition{name,
			{Name: "Type", Type: "string", Description: sdoc["type"]},
			{Name: "Data", Type: "string", Description: sdoc["data"]},
			age},
		row: tblTyped(func(s *corev1.Secret, now time.Time) []any {
			return []any{s.Name, string(s.Type), int64(len(s.Data)), tblAge(s.CreationTimestamp.Time, now)}
		}),
	}
	tblKinds["serviceaccounts"] = &tblPrinter{
		columns: []metav1.TableColumnDefinition{name, {Name: "Secrets", Type: "string", Description: corev1.ServiceAccount{}.SwaggerDoc()["secrets"]}, age},
		row: tblTyped(func(sa *corev1.ServiceAccount, now time.Time) []any {
			return []any{sa.Name, int64(len(sa.Secrets)), tblAge(sa.CreationTimestamp.Time, now)}
		}),
	}
}

// dfltSecret is the v1 default (type Opaque) and what conversion to the internal type does
// with stringData: its keys are written into data (winning over the same key there) and the
// field is dropped, so it is never stored nor returned.
func dfltSecret(s *corev1.Secret) {
	if s.Type == "" {
		s.Type = corev1.SecretTypeOpaque
	}
	if len(s.StringData) > 0 {
		if s.Data == nil {
			s.Data = make(map[string][]byte, len(s.StringData))
		}
		for k, v := range s.StringData {
			s.Data[k] = []byte(v)
		}
	}
	s.StringData = nil
}

// vldConfigKeys checks the keys of a ConfigMap's or Secret's data (IsConfigMapKey).
func vldConfigKeys[V any](m map[string]V, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, k := range sortedKeys(m) {
		for _, msg := range validation.IsConfigMapKey(k) {
			errs = append(errs, field.Invalid(fld.Key(k), k, msg))
		}
	}
	return errs
}

// sortedKeys visits map keys in a stable order, so that errors come out alike every time.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

func vldConfigMapCreate(cm *corev1.ConfigMap) field.ErrorList {
	errs := vldKubeObjectMeta(&cm.ObjectMeta, true, vldDNSSubdomainName, field.NewPath("metadata"))
	return append(errs, vldConfigMapData(cm)...)
}

func vldConfigMapData(cm *corev1.ConfigMap) field.ErrorList {
	var errs field.ErrorList
	size := 0
	errs = append(errs, vldConfigKeys(cm.Data, field.NewPath("data"))...)
	for _, k := range sortedKeys(cm.Data) {
		size += len(cm.Data[k])
	}
	errs = append(errs, vldConfigKeys(cm.BinaryData, field.NewPath("binaryData"))...)
	for _, k := range sortedKeys(cm.BinaryData) {
		if _, dup := cm.Data[k]; dup {
			errs = append(errs, field.Invalid(field.NewPath("binaryData").Key(k), k, "duplicate of key present in data"))
		}
		size += len(cm.BinaryData[k])
	}
	if size > corev1.MaxSecretSize {
		// The path "" means the whole object.
		errs = append(errs, field.TooLong(field.NewPath(""), "", corev1.MaxSecretSize))
	}
	return errs
}

func vldConfigMapUpdate(cm, old *corev1.ConfigMap) field.ErrorList {
	var errs field.ErrorList
	if old.Immutable != nil && *old.Immutable {
		if cm.Immutable == nil || !*cm.Immutable {
			errs = append(errs, field.Forbidden(field.NewPath("immutable"), "field is immutable when `immutable` is set"))
		}
		if !vldSemanticEqual(cm.Data, old.Data) {
			errs = append(errs, field.Forbidden(field.NewPath("data"), "field is immutable when `immutable` is set"))
		}
		if !vldSemanticEqual(cm.BinaryData, old.BinaryData) {
			errs = append(errs, field.Forbidden(field.NewPath("binaryData"), "field is immutable when `immutable` is set"))
		}
	}
	return append(errs, vldConfigMapData(cm)...)
}

func vldSecretCreate(s *corev1.Secret) field.ErrorList {
	errs := vldKubeObjectMeta(&s.ObjectMeta, true, vldDNSSubdomainName, field.NewPath("metadata"))
	return append(errs, vldSecretData(s)...)
}

func vldSecretData(s *corev1.Secret) field.ErrorList {
	data := field.NewPath("data")
	errs := vldConfigKeys(s.Data, data)
	size := 0
	for _, v := range s.Data {
		size += len(v)
	}
	if size > corev1.MaxSecretSize {
		errs = append(errs, field.TooLong(data, "", corev1.MaxSecretSize))
	}
	jsonKey := func(key string) {
		b, ok := s.Data[key]
		if !ok {
			errs = append(errs, field.Required(data.Key(key), ""))
			return
		}
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			errs = append(errs, field.Invalid(data.Key(key), "<secret contents redacted>", err.Error()))
		}
	}
	switch s.Type {
	case corev1.SecretTypeServiceAccountToken:
		if s.Annotations[corev1.ServiceAccountNameKey] == "" {
			errs = append(errs, field.Required(field.NewPath("metadata", "annotations").Key(corev1.ServiceAccountNameKey), ""))
		}
	case corev1.SecretTypeDockercfg:
		jsonKey(corev1.DockerConfigKey)
	case corev1.SecretTypeDockerConfigJson:
		jsonKey(corev1.DockerConfigJsonKey)
	case corev1.SecretTypeBasicAuth:
		_, u := s.Data[corev1.BasicAuthUsernameKey]
		_, p := s.Data[corev1.BasicAuthPasswordKey]
		if !u && !p {
			errs = append(errs, field.Required(data.Key(corev1.BasicAuthUsernameKey), ""),
				field.Required(data.Key(corev1.BasicAuthPasswordKey), ""))
		}
	case corev1.SecretTypeSSHAuth:
		if len(s.Data[corev1.SSHAuthPrivateKey]) == 0 {
			errs = append(errs, field.Required(data.Key(corev1.SSHAuthPrivateKey), ""))
		}
	case corev1.SecretTypeTLS:
		if _, ok := s.Data[corev1.TLSCertKey]; !ok {
			errs = append(errs, field.Required(data.Key(corev1.TLSCertKey), ""))
		}
		if _, ok := s.Data[corev1.TLSPrivateKeyKey]; !ok {
			errs = append(errs, field.Required(data.Key(corev1.TLSPrivateKeyKey), ""))
		}
	}
	return errs
}

func vldSecretUpdate(s, old *corev1.Secret) field.ErrorList {
	var errs field.ErrorList
	if s.Type != old.Type {
		errs = append(errs, field.Invalid(field.NewPath("type"), s.Type, vldImmutable))
	}
	if old.Immutable != nil && *old.Immutable {
		if s.Immutable == nil || !*s.Immutable {
			errs = append(errs, field.Forbidden(field.NewPath("immutable"), "field is immutable when `immutable` is set"))
		}
		if !vldSemanticEqual(s.Data, old.Data) {
			errs = append(errs, field.Forbidden(field.NewPath("data"), "field is immutable when `immutable` is set"))
		}
	}
	return append(errs, vldSecretData(s)...)
}

func vldServiceAccountCreate(sa *corev1.ServiceAccount) field.ErrorList {
	return vldKubeObjectMeta(&sa.ObjectMeta, true, vldDNSSubdomainName, field.NewPath("metadata"))
}

func vldServiceAccountUpdate(sa, old *corev1.ServiceAccount) field.ErrorList { return nil }
