package codec

import (
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The apps/v1 scheme defaults (pkg/apis/apps/v1/defaults.go) of Deployments and ReplicaSets.
// Their pod templates get what a pod spec gets from the scheme (dfltPodSpec), but not the pod-only
// defaults (enableServiceLinks, requests from limits) nor the admission plugins' mutations: those
// happen when the ReplicaSet controller creates the pods.

func init() {
	dfltRegister(dfltDeployment)
	dfltRegister(dfltReplicaSet)
}

func dfltDeployment(d *appsv1.Deployment) {
	spec := &d.Spec
	dfltReplicas(&spec.Replicas)
	st := &spec.Strategy
	if st.Type == "" {
		st.Type = appsv1.RollingUpdateDeploymentStrategyType
	}
	if st.Type == appsv1.RollingUpdateDeploymentStrategyType {
		if st.RollingUpdate == nil {
			st.RollingUpdate = &appsv1.RollingUpdateDeployment{}
		}
		if st.RollingUpdate.MaxUnavailable == nil {
			v := intstr.FromString("25%")
			st.RollingUpdate.MaxUnavailable = &v
		}
		if st.RollingUpdate.MaxSurge == nil {
			v := intstr.FromString("25%")
			st.RollingUpdate.MaxSurge = &v
		}
	}
	if spec.RevisionHistoryLimit == nil {
		v := int32(10)
		spec.RevisionHistoryLimit = &v
	}
	if spec.ProgressDeadlineSeconds == nil {
		v := int32(600)
		spec.ProgressDeadlineSeconds = &v
	}
	dfltPodSpec(&spec.Template.Spec)
}

func dfltReplicaSet(rs *appsv1.ReplicaSet) {
	dfltReplicas(&rs.Spec.Replicas)
	dfltPodSpec(&rs.Spec.Template.Spec)
}

func dfltReplicas(p **int32) {
	if *p == nil {
		v := int32(1)
		*p = &v
	}
}
