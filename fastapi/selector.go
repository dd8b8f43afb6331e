package fastapi

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

type selOp int

const (
	opEq selOp = iota
	opNotEq
	opIn
	opNotIn
	opExists
	opNotExists
)

type requirement struct {
	key    string
	op     selOp
	values []string
}

// labelSelector is a parsed labelSelector query parameter; nil matches everything.
type labelSelector []requirement

// parseLabelSelector parses the Kubernetes label selector syntax:
// "a=b,c!=d,e in (f,g),h notin (i),j,!k".
func parseLabelSelector(s string) (labelSelector, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var sel labelSelector
	for _, term := range splitTerms(s) {
		term = strings.TrimSpace(term)
		if term == "" {
			return nil, fmt.Errorf("unable to parse requirement: found '', expected: identifier")
		}
		var r requirement
		switch {
		case strings.HasPrefix(term, "!"):
			r = requirement{key: strings.TrimSpace(term[1:]), op: opNotExists}
		case strings.Contains(term, " notin ") || strings.Contains(term, " notin("):
			k, v, _ := strings.Cut(term, "notin")
			vals, err := parseSet(v)
			if err != nil {
				return nil, err
			}
			r = requirement{key: strings.TrimSpace(k), op: opNotIn, values: vals}
		case strings.Contains(term, " in ") || strings.Contains(term, " in("):
			k, v, _ := strings.Cut(term, " in")
			vals, err := parseSet(v)
			if err != nil {
				return nil, err
			}
			r = requirement{key: strings.TrimSpace(k), op: opIn, values: vals}
		case strings.Contains(term, "!="):
			k, v, _ := strings.Cut(term, "!=")
			r = requirement{key: strings.TrimSpace(k), op: opNotEq, values: []string{strings.TrimSpace(v)}}
		case strings.Contains(term, "=="):
			k, v, _ := strings.Cut(term, "==")
			r = requirement{key: strings.TrimSpace(k), op: opEq, values: []string{strings.TrimSpace(v)}}
		case strings.Contains(term, "="):
			k, v, _ := strings.Cut(term, "=")
			r = requirement{key: strings.TrimSpace(k), op: opEq, values: []string{strings.TrimSpace(v)}}
		default:
			r = requirement{key: term, op: opExists}
		}
		if r.key == "" || strings.ContainsAny(r.key, " ()=!,") {
			return nil, fmt.Errorf("unable to parse requirement: invalid label key %q", r.key)
		}
		sel = append(sel, r)
	}
	return sel, nil
}

// splitTerms splits on commas that are not inside parentheses.
func splitTerms(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

func parseSet(v string) ([]string, error) {
	v = strings.TrimSpace(v)
	if !strings.HasPrefix(v, "(") || !strings.HasSuffix(v, ")") {
		return nil, fmt.Errorf("unable to parse requirement: found %q, expected: '('", v)
	}
	var vals []string
	for _, x := range strings.Split(v[1:len(v)-1], ",") {
		vals = append(vals, strings.TrimSpace(x))
	}
	return vals, nil
}

func (sel labelSelector) matches(labels map[string]string) bool {
	for _, r := range sel {
		v, has := labels[r.key]
		switch r.op {
		case opEq:
			if !has || v != r.values[0] {
				return false
			}
		case opNotEq:
			if has && v == r.values[0] {
				return false
			}
		case opIn:
			if !has || !contains(r.values, v) {
				return false
			}
		case opNotIn:
			if has && contains(r.values, v) {
				return false
			}
		case opExists:
			if !has {
				return false
			}
		case opNotExists:
			if has {
				return false
			}
		}
	}
	return true
}

func contains(vals []string, v string) bool {
	for _, x := range vals {
		if x == v {
			return true
		}
	}
	return false
}

type fieldRequirement struct {
	field string
	value string
	not   bool
}

// fieldSelector is a parsed fieldSelector query parameter; nil matches everything.
type fieldSelector []fieldRequirement

func parseFieldSelector(s string) (fieldSelector, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var sel fieldSelector
	for _, term := range strings.Split(s, ",") {
		var r fieldRequirement
		switch {
		case strings.Contains(term, "!="):
			r.field, r.value, _ = strings.Cut(term, "!=")
			r.not = true
		case strings.Contains(term, "=="):
			r.field, r.value, _ = strings.Cut(term, "==")
		case strings.Contains(term, "="):
			r.field, r.value, _ = strings.Cut(term, "=")
		default:
			return nil, fmt.Errorf("invalid selector: '%s'; can't understand '%s'", s, term)
		}
		r.field, r.value = strings.TrimSpace(r.field), strings.TrimSpace(r.value)
		sel = append(sel, r)
	}
	return sel, nil
}

// check validates the fields against what resource supports, as the API server does.
func (sel fieldSelector) check(resource string, obj runtime.Object) error {
	for _, r := range sel {
		if _, ok := fieldValue(obj, r.field); !ok {
			return fmt.Errorf("field label not supported: %s", r.field)
		}
	}
	return nil
}

func (sel fieldSelector) matches(obj runtime.Object) bool {
	for _, r := range sel {
		v, _ := fieldValue(obj, r.field)
		if (v == r.value) == r.not {
			return false
		}
	}
	return true
}

// fieldValue returns the value of a selectable field of obj; ok is false when the field is
// not selectable for its kind.
func fieldValue(obj runtime.Object, field string) (string, bool) {
	if m, ok := obj.(metav1.Object); ok {
		switch field {
		case "metadata.name":
			return m.GetName(), true
		case "metadata.namespace":
			return m.GetNamespace(), true
		}
	}
	switch o := obj.(type) {
	case *corev1.Pod:
		switch field {
		case "spec.nodeName":
			return o.Spec.NodeName, true
		case "spec.restartPolicy":
			return string(o.Spec.RestartPolicy), true
		case "spec.schedulerName":
			return o.Spec.SchedulerName, true
		case "spec.serviceAccountName":
			return o.Spec.ServiceAccountName, true
		case "spec.hostNetwork":
			return fmt.Sprint(o.Spec.HostNetwork), true
		case "status.phase":
			return string(o.Status.Phase), true
		case "status.podIP":
			return o.Status.PodIP, true
		case "status.nominatedNodeName":
			return o.Status.NominatedNodeName, true
		}
	case *corev1.Namespace:
		if field == "status.phase" {
			return string(o.Status.Phase), true
		}
	case *corev1.Node:
		if field == "spec.unschedulable" {
			return fmt.Sprint(o.Spec.Unschedulable), true
		}
	case *corev1.Event:
		switch field {
		case "involvedObject.kind":
			return o.InvolvedObject.Kind, true
		case "involvedObject.namespace":
			return o.InvolvedObject.Namespace, true
		case "involvedObject.name":
			return o.InvolvedObject.Name, true
		case "involvedObject.uid":
			return string(o.InvolvedObject.UID), true
		case "involvedObject.apiVersion":
			return o.InvolvedObject.APIVersion, true
		case "involvedObject.resourceVersion":
			return o.InvolvedObject.ResourceVersion, true
		case "involvedObject.fieldPath":
			return o.InvolvedObject.FieldPath, true
		case "reason":
			return o.Reason, true
		case "reportingComponent":
			return o.ReportingController, true
		case "source":
			return o.Source.Component, true
		case "type":
			return o.Type, true
		}
	case *eventsv1.Event:
		switch field {
		case "regarding.kind":
			return o.Regarding.Kind, true
		case "regarding.namespace":
			return o.Regarding.Namespace, true
		case "regarding.name":
			return o.Regarding.Name, true
		case "regarding.uid":
			return string(o.Regarding.UID), true
		case "reason":
			return o.Reason, true
		case "reportingController":
			return o.ReportingController, true
		case "type":
			return o.Type, true
		}
	}
	return "", false
}
