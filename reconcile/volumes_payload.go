package reconcile

// This file: what the files of configMap, secret, downwardAPI and projected volumes hold, as
// the kubelet's volume plugins compute it (pure functions of the pod and the objects).

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// volumeInputs is what a payload is made of besides the pod.
type volumeInputs struct {
	configMap func(name string) (*corev1.ConfigMap, bool)
	secret    func(name string) (*corev1.Secret, bool)
	// token returns the service account token of a projection; ok false when k2d issues no
	// tokens (the file is left out).
	token       func(volume string, p *corev1.ServiceAccountTokenProjection) (tok []byte, ok bool, err error)
	allocatable corev1.ResourceList
	fsUser      *int64 // the runAsUser every container shares, if they all set the same one
	fsGroup     *int64
}

// volumeInputs binds the inputs to the cache and the pod's token record.
func (c *Controller) volumeInputs(pod *corev1.Pod, pf *podFiles) *volumeInputs {
	in := &volumeInputs{
		configMap: func(name string) (*corev1.ConfigMap, bool) {
			e, ok := c.c.Get(resConfigMap, pod.Namespace, name)
			if !ok {
				return nil, false
			}
			cm, ok := e.Obj.(*corev1.ConfigMap)
			return cm, ok
		},
		secret: func(name string) (*corev1.Secret, bool) {
			e, ok := c.c.Get(resSecrets, pod.Namespace, name)
			if !ok {
				return nil, false
			}
			s, ok := e.Obj.(*corev1.Secret)
			return s, ok
		},
		token: func(volume string, p *corev1.ServiceAccountTokenProjection) ([]byte, bool, error) {
			return c.podToken(pod, pf, volume, p)
		},
		fsUser:  fsUserOf(pod),
		fsGroup: fsGroupOf(pod),
	}
	if e, ok := c.c.Get(resNodes, "", c.NodeName()); ok {
		in.allocatable = e.Obj.(*corev1.Node).Status.Allocatable
	}
	return in
}

func fsGroupOf(pod *corev1.Pod) *int64 {
	if sc := pod.Spec.SecurityContext; sc != nil {
		return sc.FSGroup
	}
	return nil
}

// fsUserOf is the kubelet's FsUserFrom: the runAsUser of every init and app container when
// they all have the same one, else nil.
func fsUserOf(pod *corev1.Pod) *int64 {
	var user *int64
	all := append(append([]corev1.Container(nil), pod.Spec.InitContainers...), pod.Spec.Containers...)
	for i := range all {
		var u *int64
		if sc := all[i].SecurityContext; sc != nil && sc.RunAsUser != nil {
			u = sc.RunAsUser
		} else if psc := pod.Spec.SecurityContext; psc != nil && psc.RunAsUser != nil {
			u = psc.RunAsUser
		}
		if u == nil || (user != nil && *user != *u) {
			return nil
		}
		user = u
	}
	return user
}

func modeOr(m *int32, def int32) int32 {
	if m != nil {
		return *m
	}
	return def
}

func isOptional(p *bool) bool { return p != nil && *p }

// volumePayload returns the files of one configMap, secret, downwardAPI or projected volume.
func volumePayload(pod *corev1.Pod, v *corev1.Volume, in *volumeInputs) (payload, error) {
	switch {
	case v.ConfigMap != nil:
		src := v.ConfigMap
		cm, ok := in.configMap(src.Name)
		return configMapPayload(src.Name, cm, ok, src.Items, modeOr(src.DefaultMode, corev1.ConfigMapVolumeSourceDefaultMode), isOptional(src.Optional))
	case v.Secret != nil:
		src := v.Secret
		s, ok := in.secret(src.SecretName)
		return secretPayload(src.SecretName, s, ok, src.Items, modeOr(src.DefaultMode, corev1.SecretVolumeSourceDefaultMode), isOptional(src.Optional))
	case v.DownwardAPI != nil:
		return downwardPayload(pod, v.DownwardAPI.Items, modeOr(v.DownwardAPI.DefaultMode, corev1.DownwardAPIVolumeSourceDefaultMode), in)
	case v.Projected != nil:
		return projectedPayload(pod, v, in)
	}
	return nil, fmt.Errorf("volume %q is not a configMap, secret, downwardAPI or projected volume", v.Name)
}

func configMapPayload(name string, cm *corev1.ConfigMap, found bool, items []corev1.KeyToPath, mode int32, optional bool) (payload, error) {
	out := payload{}
	if !found {
		if optional {
			return out, nil
		}
		return nil, missingf("configmap %q not found", name)
	}
	if len(items) == 0 {
		for k, v := range cm.Data {
			out[k] = fileProjection{data: []byte(v), mode: mode}
		}
		for k, v := range cm.BinaryData {
			out[k] = fileProjection{data: v, mode: mode}
		}
		return out, nil
	}
	for _, it := range items {
		var data []byte
		if v, ok := cm.Data[it.Key]; ok {
			data = []byte(v)
		} else if v, ok := cm.BinaryData[it.Key]; ok {
			data = v
		} else {
			if optional {
				continue
			}
			return nil, missingf("configmap references non-existent config key: %s", it.Key)
		}
		out[it.Path] = fileProjection{data: data, mode: modeOr(it.Mode, mode)}
	}
	return out, nil
}

func secretPayload(name string, s *corev1.Secret, found bool, items []corev1.KeyToPath, mode int32, optional bool) (payload, error) {
	out := payload{}
	if !found {
		if optional {
			return out, nil
		}
		return nil, missingf("secret %q not found", name)
	}
	if len(items) == 0 {
		for k, v := range s.Data {
			out[k] = fileProjection{data: v, mode: mode}
		}
		return out, nil
	}
	for _, it := range items {
		data, ok := s.Data[it.Key]
		if !ok {
			if optional {
				continue
			}
			return nil, missingf("references non-existent secret key: %s", it.Key)
		}
		out[it.Path] = fileProjection{data: data, mode: modeOr(it.Mode, mode)}
	}
	return out, nil
}

// downwardPayload is the kubelet's downwardapi.CollectData.
func downwardPayload(pod *corev1.Pod, items []corev1.DownwardAPIVolumeFile, mode int32, in *volumeInputs) (payload, error) {
	out := payload{}
	var errs []error
	for _, it := range items {
		f := fileProjection{mode: modeOr(it.Mode, mode)}
		switch {
		case it.FieldRef != nil:
			v, err := downwardField(pod, it.FieldRef.FieldPath)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			f.data = []byte(v)
		case it.ResourceFieldRef != nil:
			v, err := downwardResource(pod, it.ResourceFieldRef, in.allocatable)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			f.data = []byte(v)
		}
		out[it.Path] = f
	}
	return out, aggregate(errs)
}

// downwardField answers the field paths a downwardAPI volume may show.
func downwardField(pod *corev1.Pod, path string) (string, error) {
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "metadata.labels":
		return formatMap(pod.Labels), nil
	case "metadata.annotations":
		return formatMap(pod.Annotations), nil
	}
	for _, m := range []struct {
		prefix string
		values map[string]string
	}{{"metadata.labels", pod.Labels}, {"metadata.annotations", pod.Annotations}} {
		if rest, ok := strings.CutPrefix(path, m.prefix+"['"); ok && strings.HasSuffix(rest, "']") {
			return m.values[strings.TrimSuffix(rest, "']")], nil
		}
	}
	return "", fmt.Errorf("unsupported fieldPath: %v", path)
}

// formatMap is the kubelet's fieldpath.FormatMap: key="value" lines in key order.
func formatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(m[k]))
	}
	return b.String()
}

// downwardResource answers resourceFieldRef as the kubelet does: the value divided by the
// divisor, rounded up; a limit the container leaves unset is the node's allocatable amount.
func downwardResource(pod *corev1.Pod, ref *corev1.ResourceFieldSelector, allocatable corev1.ResourceList) (string, error) {
	var ctr *corev1.Container
	for _, list := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for i := range list {
			if list[i].Name == ref.ContainerName {
				ctr = &list[i]
			}
		}
	}
	if ctr == nil {
		return "", fmt.Errorf("container %s not found", ref.ContainerName)
	}
	kind, name, ok := strings.Cut(ref.Resource, ".")
	if !ok || (kind != "limits" && kind != "requests") {
		return "", fmt.Errorf("unsupported container resource : %v", ref.Resource)
	}
	rn := corev1.ResourceName(name)
	var q resource.Quantity
	if kind == "limits" {
		var set bool
		if q, set = ctr.Resources.Limits[rn]; !set {
			q = allocatable[rn]
		}
	} else {
		q = ctr.Resources.Requests[rn]
	}
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = *resource.NewQuantity(1, resource.DecimalSI)
	}
	if rn == corev1.ResourceCPU {
		return strconv.FormatInt(int64(math.Ceil(float64(q.MilliValue())/float64(divisor.MilliValue()))), 10), nil
	}
	return strconv.FormatInt(int64(math.Ceil(float64(q.Value())/float64(divisor.Value()))), 10), nil
}

// projectedPayload is the kubelet's projected volume: each source's files in order, every
// failing source reported.
func projectedPayload(pod *corev1.Pod, v *corev1.Volume, in *volumeInputs) (payload, error) {
	src := v.Projected
	mode := modeOr(src.DefaultMode, corev1.ProjectedVolumeSourceDefaultMode)
	out := payload{}
	var errs []error
	merge := func(p payload, err error) {
		if err != nil {
			errs = append(errs, err)
			return
		}
		for k, f := range p {
			out[k] = f
		}
	}
	for _, s := range src.Sources {
		switch {
		case s.ConfigMap != nil:
			cm, ok := in.configMap(s.ConfigMap.Name)
			merge(configMapPayload(s.ConfigMap.Name, cm, ok, s.ConfigMap.Items, mode, isOptional(s.ConfigMap.Optional)))
		case s.Secret != nil:
			sec, ok := in.secret(s.Secret.Name)
			merge(secretPayload(s.Secret.Name, sec, ok, s.Secret.Items, mode, isOptional(s.Secret.Optional)))
		case s.DownwardAPI != nil:
			merge(downwardPayload(pod, s.DownwardAPI.Items, mode, in))
		case s.ServiceAccountToken != nil:
			tok, ok, err := in.token(v.Name, s.ServiceAccountToken)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if !ok {
				continue
			}
			m := mode
			if in.fsUser != nil || in.fsGroup != nil {
				m = 0o600 // fsGroup ownership then makes it 0640, as on a cluster
			}
			out[s.ServiceAccountToken.Path] = fileProjection{data: tok, mode: m, fsUser: in.fsUser}
		case s.ClusterTrustBundle != nil:
			errs = append(errs, errors.New("clusterTrustBundle projections are not supported by k2d"))
		case s.PodCertificate != nil:
			errs = append(errs, errors.New("podCertificate projections are not supported by k2d"))
		}
	}
	return out, aggregate(errs)
}

// aggregate joins errors as apimachinery's Aggregate prints them: one alone, several inside
// brackets. A list that holds only missing objects stays a missingError (the pod waits).
func aggregate(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	msgs := make([]string, len(errs))
	allMissing := true
	for i, e := range errs {
		msgs[i] = e.Error()
		var m *missingError
		allMissing = allMissing && errors.As(e, &m)
	}
	msg := "[" + strings.Join(msgs, ", ") + "]"
	if allMissing {
		return &missingError{msg: msg}
	}
	return errors.New(msg)
}
