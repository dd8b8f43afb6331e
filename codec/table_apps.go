package codec

import (
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The printers of pkg/printers/internalversion for Deployments, ReplicaSets and the Scale
// subresource (`kubectl get deploy/x --subresource=scale`).

func init() {
	meta := metav1.ObjectMeta{}.SwaggerDoc()
	name := metav1.TableColumnDefinition{Name: "Name", Type: "string", Format: "name", Description: meta["name"]}
	age := metav1.TableColumnDefinition{Name: "Age", Type: "string", Description: meta["creationTimestamp"]}
	containers := metav1.TableColumnDefinition{Name: "Containers", Type: "string", Priority: 1, Description: "Names of each container in the template."}
	images := metav1.TableColumnDefinition{Name: "Images", Type: "string", Priority: 1, Description: "Images referenced by each container in the template."}
	// The server describes these columns with the extensions/v1beta1 docs; where they differ
	// from apps/v1 (the selectors) the text is written out rather than linking that package.
	depStatus, rsSpec, rsStatus := appsv1.DeploymentStatus{}.SwaggerDoc(), appsv1.ReplicaSetSpec{}.SwaggerDoc(), appsv1.ReplicaSetStatus{}.SwaggerDoc()

	tblKinds["deployments.apps"] = &tblPrinter{
		columns: []metav1.TableColumnDefinition{
			name,
			{Name: "Ready", Type: "string", Description: "Number of the pod with ready state"},
			{Name: "Up-to-date", Type: "string", Description: depStatus["updatedReplicas"]},
			{Name: "Available", Type: "string", Description: depStatus["availableReplicas"]},
			age, containers, images,
			{Name: "Selector", Type: "string", Priority: 1, Description: "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment."},
		},
		row: tblTyped(tblDeploymentRow),
	}
	tblKinds["replicasets.apps"] = &tblPrinter{
		columns: []metav1.TableColumnDefinition{
			name,
			{Name: "Desired", Type: "integer", Description: rsSpec["replicas"]},
			{Name: "Current", Type: "integer", Description: rsStatus["replicas"]},
			{Name: "Ready", Type: "integer", Description: rsStatus["readyReplicas"]},
			age, containers, images,
			{Name: "Selector", Type: "string", Priority: 1, Description: "Selector is a label query over pods that should match the replica count. If the selector is empty, it is defaulted to the labels present on the pod template. Label keys and values that must match in order to be controlled by this replica set. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors"},
		},
		row: tblTyped(tblReplicaSetRow),
	}
	// The scale printer's NAME column has no "name" format, as on the server.
	tblKinds[ScaleKind.GroupResource()] = &tblPrinter{
		columns: []metav1.TableColumnDefinition{
			{Name: "Name", Type: "string", Description: meta["name"]},
			{Name: "Desired", Type: "integer", Description: autoscalingv1.ScaleSpec{}.SwaggerDoc()["replicas"]},
			{Name: "Available", Type: "integer", Description: autoscalingv1.ScaleStatus{}.SwaggerDoc()["replicas"]},
			age,
		},
		row: tblTyped(func(s *autoscalingv1.Scale, now time.Time) []any {
			return []any{s.Name, int64(s.Spec.Replicas), int64(s.Status.Replicas), tblAge(s.CreationTimestamp.Time, now)}
		}),
	}
}

// tblDeploymentRow follows printDeployment: READY is ready/desired, the selector is printed as
// labels.Selector.String() ("" for an empty one, <invalid> when it does not parse).
func tblDeploymentRow(d *appsv1.Deployment, now time.Time) []any {
	desired := int64(0)
	if d.Spec.Replicas != nil {
		desired = int64(*d.Spec.Replicas)
	}
	selector := "<invalid>"
	if s, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err == nil {
		selector = s.String()
	}
	names, images := tblContainerCells(d.Spec.Template.Spec.Containers)
	return []any{
		d.Name, strconv.FormatInt(int64(d.Status.ReadyReplicas), 10) + "/" + strconv.FormatInt(desired, 10),
		int64(d.Status.UpdatedReplicas), int64(d.Status.AvailableReplicas), tblAge(d.CreationTimestamp.Time, now),
		names, images, selector,
	}
}

// tblReplicaSetRow follows printReplicaSet, whose selector is metav1.FormatLabelSelector.
func tblReplicaSetRow(rs *appsv1.ReplicaSet, now time.Time) []any {
	desired := int64(0)
	if rs.Spec.Replicas != nil {
		desired = int64(*rs.Spec.Replicas)
	}
	names, images := tblContainerCells(rs.Spec.Template.Spec.Containers)
	return []any{
		rs.Name, desired, int64(rs.Status.Replicas), int64(rs.Status.ReadyReplicas), tblAge(rs.CreationTimestamp.Time, now),
		names, images, metav1.FormatLabelSelector(rs.Spec.Selector),
	}
}

// tblContainerCells is layoutContainerCells: names and images joined with commas.
func tblContainerCells(cs []corev1.Container) (names, images string) {
	n := make([]string, len(cs))
	im := make([]string, len(cs))
	for i := range cs {
		n[i], im[i] = cs[i].Name, cs[i].Image
	}
	return strings.Join(n, ","), strings.Join(im, ",")
}
