package codec

import (
	"encoding/json"
	"reflect"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// TestDefaultDeploymentKubectlCreate checks what `kubectl create deployment web --image=nginx`
// sends against what a real API server stores: the apps/v1 defaults, and a pod template with
// a pod spec's scheme defaults but none of the pod-only ones (enableServiceLinks, service
// account, priority, tolerations), which the admission plugins add to the pods later.
func TestDefaultDeploymentKubectlCreate(t *testing.T) {
	deploy := KindFor("apps", "v1", "deployments")
	_, got := defaultJSON(t, deploy, `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"labels":{"app":"web"},"name":"web"},
		"spec":{"replicas":1,"selector":{"matchLabels":{"app":"web"}},"strategy":{},"template":{"metadata":{"labels":{"app":"web"}},
		"spec":{"containers":[{"image":"nginx","name":"nginx","resources":{}}]}}},"status":{}}`)
	want := mustMap(t, `{
	  "metadata": {"labels": {"app": "web"}, "name": "web"},
	  "spec": {
	    "progressDeadlineSeconds": 600,
	    "replicas": 1,
	    "revisionHistoryLimit": 10,
	    "selector": {"matchLabels": {"app": "web"}},
	    "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}, "type": "RollingUpdate"},
	    "template": {
	      "metadata": {"labels": {"app": "web"}},
	      "spec": {
	        "containers": [{
	          "image": "nginx", "imagePullPolicy": "Always", "name": "nginx", "resources": {},
	          "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"
	        }],
	        "dnsPolicy": "ClusterFirst",
	        "restartPolicy": "Always",
	        "schedulerName": "default-scheduler",
	        "securityContext": {},
	        "terminationGracePeriodSeconds": 30
	      }
	    }
	  },
	  "status": {}
	}`)
	delete(got, "apiVersion")
	delete(got, "kind")
	if !reflect.DeepEqual(got, want) {
		a, _ := json.MarshalIndent(got, "", "  ")
		t.Errorf("defaulted deployment:\n%s", a)
	}
}

func TestDefaultAppsDetails(t *testing.T) {
	deploy := KindFor("apps", "v1", "deployments")
	// Recreate gets no rollingUpdate; given values are kept; only a missing half is filled.
	obj, _ := defaultJSON(t, deploy, `{"metadata":{"name":"a"},"spec":{"replicas":0,"revisionHistoryLimit":0,"strategy":{"type":"Recreate"},
		"template":{"spec":{"containers":[{"name":"c","image":"busybox:1","resources":{"limits":{"cpu":"0.0001"}},"ports":[{"containerPort":80}]}],"hostNetwork":true}}}}`)
	d := obj.(*appsv1.Deployment)
	if *d.Spec.Replicas != 0 || *d.Spec.RevisionHistoryLimit != 0 || d.Spec.Strategy.RollingUpdate != nil || *d.Spec.ProgressDeadlineSeconds != 600 {
		t.Errorf("recreate deployment: %+v", d.Spec)
	}
	c := d.Spec.Template.Spec.Containers[0]
	// Scheme defaults reach the template (protocol, pull policy, rounding); requests are not
	// copied from limits and host ports are not filled: both happen only on pods.
	if c.Ports[0].Protocol != "TCP" || c.Ports[0].HostPort != 0 || c.ImagePullPolicy != "IfNotPresent" || c.Resources.Requests != nil || c.Resources.Limits.Cpu().String() != "1m" {
		t.Errorf("template container: %+v", c)
	}
	obj, _ = defaultJSON(t, deploy, `{"metadata":{"name":"b"},"spec":{"strategy":{"rollingUpdate":{"maxSurge":0}},"template":{"spec":{"containers":[{"name":"c","image":"x"}]}}}}`)
	ru := obj.(*appsv1.Deployment).Spec.Strategy.RollingUpdate
	if *ru.MaxSurge != intstr.FromInt32(0) || *ru.MaxUnavailable != intstr.FromString("25%") || obj.(*appsv1.Deployment).Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType {
		t.Errorf("partial rolling update: %+v", ru)
	}

	rs := KindFor("apps", "v1", "replicasets")
	obj, got := defaultJSON(t, rs, `{"metadata":{"name":"r"},"spec":{"template":{"spec":{"containers":[{"name":"c","image":"x"}]}}}}`)
	if r := obj.(*appsv1.ReplicaSet); *r.Spec.Replicas != 1 || r.Spec.Template.Spec.DNSPolicy != "ClusterFirst" || r.Spec.Template.Spec.ServiceAccountName != "" {
		t.Errorf("replicaset: %+v", r.Spec)
	}
	// Defaulting is idempotent: a second pass changes nothing.
	Default(obj)
	if again := toMap(t, obj); !reflect.DeepEqual(again, got) {
		t.Errorf("second default pass changed the replicaset:\n%v\n%v", again, got)
	}
}
