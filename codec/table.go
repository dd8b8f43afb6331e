package codec

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
)

// TableColumns returns the column definitions of the meta.k8s.io/v1 Table the API server
// returns for k (pkg/printers/internalversion), "-o wide" columns (priority 1) included.
// Kinds without a printer get the server's default NAME and CREATED AT columns. The slice is
// shared: callers must not modify it.
func TableColumns(k *Kind) []metav1.TableColumnDefinition {
	if p := tblPrinters()[k.GroupResource()]; p != nil {
		return p.columns
	}
	return tblDefaultColumns()
}

// TableRow returns the cells of obj's row, in column order and including the wide cells, as
// the server fills them (it always prints wide; kubectl hides priority-1 columns). Cells are
// strings or int64. Ages are measured against now.
func TableRow(k *Kind, obj runtime.Object, now time.Time) []any {
	name, created := "", ""
	if m, ok := obj.(metav1.Object); ok {
		name, created = m.GetName(), m.GetCreationTimestamp().UTC().Format(time.RFC3339)
	}
	p := tblPrinters()[k.GroupResource()]
	if p == nil {
		return []any{name, created}
	}
	if cells := p.row(obj, now); cells != nil {
		return cells
	}
	// An object of an unexpected type still gets a row of the right width.
	cells := make([]any, len(p.columns))
	for i, c := range p.columns {
		cells[i] = ""
		if c.Format == "name" {
			cells[i] = name
		}
	}
	return cells
}

// TableRowConditions returns the conditions of obj's row: the server marks pods that
// succeeded or failed as Completed, which is how clients can grey them out.
func TableRowConditions(k *Kind, obj runtime.Object) []metav1.TableRowCondition {
	pod, ok := obj.(*corev1.Pod)
	if !ok || k.GroupResource() != "pods" {
		return nil
	}
	switch pod.Status.Phase {
	case corev1.PodSucceeded:
		return []metav1.TableRowCondition{{Type: metav1.RowCompleted, Status: metav1.ConditionTrue, Reason: string(corev1.PodSucceeded), Message: "The pod has completed successfully."}}
	case corev1.PodFailed:
		return []metav1.TableRowCondition{{Type: metav1.RowCompleted, Status: metav1.ConditionTrue, Reason: string(corev1.PodFailed), Message: "The pod failed."}}
	}
	return nil
}

// tblKinds holds printers of kinds whose rows live in their own files, by group-resource;
// each such file registers its printer in an init func. tblPrinters includes them.
var tblKinds = map[string]*tblPrinter{}

// tblPrinter is one kind's printer. Adding a kind means adding an entry to tblPrinters
// or, from another file, to tblKinds.
type tblPrinter struct {
	columns []metav1.TableColumnDefinition
	row     func(obj runtime.Object, now time.Time) []any // nil for an object of another type
}

// tblTyped adapts a typed row function.
func tblTyped[T runtime.Object](row func(T, time.Time) []any) func(runtime.Object, time.Time) []any {
	return func(obj runtime.Object, now time.Time) []any {
		if o, ok := obj.(T); ok {
			return row(o, now)
		}
		return nil
	}
}

// The column descriptions come from the generated swagger docs, built once on first use.
var tblPrinters = sync.OnceValue(func() map[string]*tblPrinter {
	meta := metav1.ObjectMeta{}.SwaggerDoc()
	name := metav1.TableColumnDefinition{Name: "Name", Type: "string", Format: "name", Description: meta["name"]}
	age := metav1.TableColumnDefinition{Name: "Age", Type: "string", Description: meta["creationTimestamp"]}
	podStatus, podSpec := corev1.PodStatus{}.SwaggerDoc(), corev1.PodSpec{}.SwaggerDoc()
	nodeInfo, nodeStatus := corev1.NodeSystemInfo{}.SwaggerDoc(), corev1.NodeStatus{}.SwaggerDoc()
	event, ref := corev1.Event{}.SwaggerDoc(), corev1.ObjectReference{}.SwaggerDoc()

	eventPrinter := &tblPrinter{
		columns: []metav1.TableColumnDefinition{
			{Name: "Last Seen", Type: "string", Description: event["lastTimestamp"]},
			{Name: "Type", Type: "string", Description: event["type"]},
			{Name: "Reason", Type: "string", Description: event["reason"]},
			{Name: "Object", Type: "string", Description: event["involvedObject"]},
			{Name: "Subobject", Type: "string", Priority: 1, Description: ref["fieldPath"]},
			{Name: "Source", Type: "string", Priority: 1, Description: event["source"]},
			{Name: "Message", Type: "string", Description: event["message"]},
			{Name: "First Seen", Type: "string", Priority: 1, Description: event["firstTimestamp"]},
			{Name: "Count", Type: "string", Priority: 1, Description: event["count"]},
			{Name: "Name", Type: "string", Priority: 1, Format: "name", Description: meta["name"]},
		},
		row: tblEventRow,
	}
	m := map[string]*tblPrinter{
		"pods": {
			columns: []metav1.TableColumnDefinition{
				name,
				{Name: "Ready", Type: "string", Description: "The aggregate readiness state of this pod for accepting traffic."},
				{Name: "Status", Type: "string", Description: "The aggregate status of the containers in this pod."},
				{Name: "Restarts", Type: "string", Description: "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."},
				age,
				{Name: "IP", Type: "string", Priority: 1, Description: podStatus["podIP"]},
				{Name: "Node", Type: "string", Priority: 1, Description: podSpec["nodeName"]},
				{Name: "Nominated Node", Type: "string", Priority: 1, Description: podStatus["nominatedNodeName"]},
				{Name: "Readiness Gates", Type: "string", Priority: 1, Description: podSpec["readinessGates"]},
			},
			row: tblTyped(tblPodRow),
		},
		"namespaces": {
			columns: []metav1.TableColumnDefinition{name, {Name: "Status", Type: "string", Description: "The status of the namespace"}, age},
			row: tblTyped(func(ns *corev1.Namespace, now time.Time) []any {
				return []any{ns.Name, string(ns.Status.Phase), tblAge(ns.CreationTimestamp.Time, now)}
			}),
		},
		"nodes": {
			columns: []metav1.TableColumnDefinition{
				name,
				{Name: "Status", Type: "string", Description: "The status of the node"},
				{Name: "Roles", Type: "string", Description: "The roles of the node"},
				age,
				{Name: "Version", Type: "string", Description: nodeInfo["kubeletVersion"]},
				{Name: "Internal-IP", Type: "string", Priority: 1, Description: nodeStatus["addresses"]},
				{Name: "External-IP", Type: "string", Priority: 1, Description: nodeStatus["addresses"]},
				{Name: "OS-Image", Type: "string", Priority: 1, Description: nodeInfo["osImage"]},
				{Name: "Kernel-Version", Type: "string", Priority: 1, Description: nodeInfo["kernelVersion"]},
				{Name: "Container-Runtime", Type: "string", Priority: 1, Description: nodeInfo["containerRuntimeVersion"]},
			},
			row: tblTyped(tblNodeRow),
		},
		// events.k8s.io is served by the core event storage, so both APIs print alike.
		"events":               eventPrinter,
		"events.events.k8s.io": eventPrinter,
	}
	for res, p := range tblKinds {
		m[res] = p
	}
	return m
})

var tblDefaultColumns = sync.OnceValue(func() []metav1.TableColumnDefinition {
	meta := metav1.ObjectMeta{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		{Name: "Name", Type: "string", Format: "name", Description: meta["name"]},
		{Name: "Created At", Type: "date", Description: meta["creationTimestamp"]},
	}
})

// tblAge is the printers' translateTimestampSince.
func tblAge(t time.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t))
}

func tblIsRestartableInit(c *corev1.Container) bool {
	return c != nil && c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

func tblHasCondition(conds []corev1.PodCondition, t corev1.PodConditionType) (found, isTrue bool) {
	for _, c := range conds {
		if c.Type == t {
			return true, c.Status == corev1.ConditionTrue
		}
	}
	return false, false
}

// tblPodRow follows printPod: STATUS is the reason the kubelet reports, refined by the init
// and app container states, and RESTARTS carries the age of the last restart.
func tblPodRow(pod *corev1.Pod, now time.Time) []any {
	restarts, sidecarRestarts := 0, 0
	total, ready := len(pod.Spec.Containers), 0
	var lastRestart, lastSidecarRestart time.Time

	reason := string(pod.Status.Phase)
	if pod.Status.Reason != "" {
		reason = pod.Status.Reason
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Reason == corev1.PodReasonSchedulingGated {
			reason = corev1.PodReasonSchedulingGated
		}
	}

	inits := make(map[string]*corev1.Container, len(pod.Spec.InitContainers))
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		inits[c.Name] = c
		if tblIsRestartableInit(c) {
			total++
		}
	}

	initializing := false
	for i := range pod.Status.InitContainerStatuses {
		cs := &pod.Status.InitContainerStatuses[i]
		restarts += int(cs.RestartCount)
		if t := cs.LastTerminationState.Terminated; t != nil && lastRestart.Before(t.FinishedAt.Time) {
			lastRestart = t.FinishedAt.Time
		}
		sidecar := tblIsRestartableInit(inits[cs.Name])
		if sidecar {
			sidecarRestarts += int(cs.RestartCount)
			if t := cs.LastTerminationState.Terminated; t != nil && lastSidecarRestart.Before(t.FinishedAt.Time) {
				lastSidecarRestart = t.FinishedAt.Time
			}
		}
		switch {
		case cs.State.Terminated != nil && cs.State.Terminated.ExitCode == 0:
			continue
		case sidecar && cs.Started != nil && *cs.Started:
			if cs.Ready {
				ready++
			}
			continue
		case cs.State.Terminated != nil:
			t := cs.State.Terminated
			switch {
			case t.Reason != "":
				reason = "Init:" + t.Reason
			case t.Signal != 0:
				reason = "Init:Signal:" + strconv.Itoa(int(t.Signal))
			default:
				reason = "Init:ExitCode:" + strconv.Itoa(int(t.ExitCode))
			}
			initializing = true
		case cs.State.Waiting != nil && cs.State.Waiting.Reason != "" && cs.State.Waiting.Reason != "PodInitializing":
			reason = "Init:" + cs.State.Waiting.Reason
			initializing = true
		default:
			reason = "Init:" + strconv.Itoa(i) + "/" + strconv.Itoa(len(pod.Spec.InitContainers))
			initializing = true
		}
		break
	}

	if _, initialized := tblHasCondition(pod.Status.Conditions, corev1.PodInitialized); !initializing || initialized {
		restarts, lastRestart = sidecarRestarts, lastSidecarRestart
		hasRunning := false
		for i := len(pod.Status.ContainerStatuses) - 1; i >= 0; i-- {
			cs := &pod.Status.ContainerStatuses[i]
			restarts += int(cs.RestartCount)
			if t := cs.LastTerminationState.Terminated; t != nil && lastRestart.Before(t.FinishedAt.Time) {
				lastRestart = t.FinishedAt.Time
			}
			switch {
			case cs.State.Waiting != nil && cs.State.Waiting.Reason != "":
				reason = cs.State.Waiting.Reason
			case cs.State.Terminated != nil && cs.State.Terminated.Reason != "":
				reason = cs.State.Terminated.Reason
			case cs.State.Terminated != nil && cs.State.Terminated.Signal != 0:
				reason = "Signal:" + strconv.Itoa(int(cs.State.Terminated.Signal))
			case cs.State.Terminated != nil:
				reason = "ExitCode:" + strconv.Itoa(int(cs.State.Terminated.ExitCode))
			case cs.Ready && cs.State.Running != nil:
				hasRunning = true
				ready++
			}
		}
		// A pod with a container still running is not Completed.
		if reason == "Completed" && hasRunning {
			if _, podReady := tblHasCondition(pod.Status.Conditions, corev1.PodReady); podReady {
				reason = "Running"
			} else {
				reason = "NotReady"
			}
		}
	}

	if pod.DeletionTimestamp != nil && pod.Status.Reason == "NodeLost" {
		reason = "Unknown"
	} else if pod.DeletionTimestamp != nil && pod.Status.Phase != corev1.PodFailed && pod.Status.Phase != corev1.PodSucceeded {
		reason = "Terminating"
	}

	restartsCell := strconv.Itoa(restarts)
	if restarts != 0 && !lastRestart.IsZero() {
		restartsCell += " (" + tblAge(lastRestart, now) + " ago)"
	}

	podIP := "<none>"
	if len(pod.Status.PodIPs) > 0 && pod.Status.PodIPs[0].IP != "" {
		podIP = pod.Status.PodIPs[0].IP
	}
	readinessGates := "<none>"
	if len(pod.Spec.ReadinessGates) > 0 {
		n := 0
		for _, g := range pod.Spec.ReadinessGates {
			if _, ok := tblHasCondition(pod.Status.Conditions, g.ConditionType); ok {
				n++
			}
		}
		readinessGates = strconv.Itoa(n) + "/" + strconv.Itoa(len(pod.Spec.ReadinessGates))
	}
	return []any{
		pod.Name,
		strconv.Itoa(ready) + "/" + strconv.Itoa(total),
		reason,
		restartsCell,
		tblAge(pod.CreationTimestamp.Time, now),
		podIP,
		tblOrNone(pod.Spec.NodeName),
		tblOrNone(pod.Status.NominatedNodeName),
		readinessGates,
	}
}

func tblOrNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

func tblOrUnknown(s string) string {
	if s == "" {
		return "<unknown>"
	}
	return s
}

// tblNodeRow follows printNode: only the Ready condition makes the status.
func tblNodeRow(n *corev1.Node, now time.Time) []any {
	var status []string
	for _, c := range n.Status.Conditions {
		if c.Type != corev1.NodeReady {
			continue
		}
		// The server keeps the last Ready condition of the list.
		status = status[:0]
		if c.Status == corev1.ConditionTrue {
			status = append(status, string(c.Type))
		} else {
			status = append(status, "Not"+string(c.Type))
		}
	}
	if len(status) == 0 {
		status = append(status, "Unknown")
	}
	if n.Spec.Unschedulable {
		status = append(status, "SchedulingDisabled")
	}
	info := &n.Status.NodeInfo
	return []any{
		n.Name,
		strings.Join(status, ","),
		tblOrNone(strings.Join(tblNodeRoles(n), ",")),
		tblAge(n.CreationTimestamp.Time, now),
		info.KubeletVersion,
		tblNodeAddress(n, corev1.NodeInternalIP),
		tblNodeAddress(n, corev1.NodeExternalIP),
		tblOrUnknown(info.OSImage),
		tblOrUnknown(info.KernelVersion),
		tblOrUnknown(info.ContainerRuntimeVersion),
	}
}

func tblNodeAddress(n *corev1.Node, t corev1.NodeAddressType) string {
	for _, a := range n.Status.Addresses {
		if a.Type == t {
			return a.Address
		}
	}
	return "<none>"
}

// tblNodeRoles reads node-role.kubernetes.io/<role> labels and the kubernetes.io/role label,
// sorted and without duplicates.
func tblNodeRoles(n *corev1.Node) []string {
	var roles []string
	add := func(r string) {
		if !slices.Contains(roles, r) {
			roles = append(roles, r)
		}
	}
	for k, v := range n.Labels {
		switch {
		case strings.HasPrefix(k, "node-role.kubernetes.io/"):
			if r := strings.TrimPrefix(k, "node-role.kubernetes.io/"); r != "" {
				add(r)
			}
		case k == "kubernetes.io/role" && v != "":
			add(v)
		}
	}
	slices.Sort(roles)
	return roles
}

// tblEventRow follows printEvent; events.k8s.io events are first converted like the server
// converts them to its internal event.
func tblEventRow(obj runtime.Object, now time.Time) []any {
	e := coreEventOf(obj)
	if e == nil {
		return nil
	}
	first := tblAge(e.FirstTimestamp.Time, now)
	if e.FirstTimestamp.IsZero() {
		first = tblAge(e.EventTime.Time, now)
	}
	last := tblAge(e.LastTimestamp.Time, now)
	if e.LastTimestamp.IsZero() {
		last = first
	}
	count := e.Count
	if e.Series != nil {
		last = tblAge(e.Series.LastObservedTime.Time, now)
		count = e.Series.Count
	} else if count == 0 {
		// Singleton events of the new API have no count.
		count = 1
	}
	target := strings.ToLower(e.InvolvedObject.Kind)
	if e.InvolvedObject.Name != "" {
		target += "/" + e.InvolvedObject.Name
	}
	component, host := e.Source.Component, e.Source.Host
	if component == "" {
		component = e.ReportingController
	}
	if host == "" {
		host = e.ReportingInstance
	}
	source := component
	if host != "" {
		source += ", " + host
	}
	return []any{
		last,
		e.Type,
		e.Reason,
		target,
		e.InvolvedObject.FieldPath,
		source,
		strings.TrimSpace(e.Message),
		first,
		int64(count),
		e.Name,
	}
}
