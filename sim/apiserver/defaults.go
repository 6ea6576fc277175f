package apiserver

import (
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	resourcehelper "k8s.io/component-helpers/resource"
)

// Defaulting follows pkg/apis/core/v1/defaults.go, pkg/apis/apps/v1/defaults.go
// and pkg/apis/autoscaling/v2/defaults.go for the fields kubesim uses.

func ptrTo[T any](v T) *T { return &v }

// defaultPod is SetDefaults_Pod then SetDefaults_PodSpec and the nested
// defaults, in upstream's order: requests from limits, pod-level resources
// and hostNetwork host ports are defaulted on pods only, never in a pod
// template (so a template's pod-template-hash is upstream's).
func defaultPod(p *v1.Pod) {
	for _, cs := range [][]v1.Container{p.Spec.InitContainers, p.Spec.Containers} {
		for i := range cs {
			defaultPodContainer(&cs[i], p.Spec.HostNetwork)
		}
	}
	if p.Spec.Resources != nil {
		defaultPodLevelResources(p)
	}
	if p.Spec.EnableServiceLinks == nil {
		p.Spec.EnableServiceLinks = ptrTo(v1.DefaultEnableServiceLinks)
	}
	defaultPodSpec(&p.Spec)
	// A negative grace period is invalid but accepted, and a pod's reads
	// as 1 (Convert_v1_Pod_To_core_Pod, kubernetes#115606); a template
	// keeps it (the API server only warns).
	if g := p.Spec.TerminationGracePeriodSeconds; g != nil && *g < 0 {
		p.Spec.TerminationGracePeriodSeconds = ptrTo(int64(1))
	}
}

// defaultPodLevelResources is SetDefaults_Pod's part for pod-level
// resources (PodLevelResources, on by default since v1.34):
// defaultHugePagePodLimits, then defaultPodRequests. (defaultPodLimits,
// pod-level limits from the containers', is newer than the v1.37 API
// kubesim serves.)
func defaultPodLevelResources(p *v1.Pod) {
	r := p.Spec.Resources
	opts := resourcehelper.PodResourcesOptions{}
	// Hugepages limits the containers set and the pod does not, unless
	// the pod requests them.
	if len(r.Limits) > 0 || len(r.Requests) > 0 {
		limits := r.Limits
		if limits == nil {
			limits = v1.ResourceList{}
		}
		for name, q := range resourcehelper.AggregateContainerLimits(p, opts) {
			if !isHugePages(name) {
				continue
			}
			if _, ok := r.Requests[name]; ok {
				continue
			}
			if _, ok := limits[name]; !ok {
				limits[name] = q.DeepCopy()
			}
		}
		if len(limits) > 0 {
			r.Limits = limits
		}
	}
	// With pod-level limits, requests left out are the containers' (cpu
	// and memory, the overcommittable ones), else the limit.
	if len(r.Limits) == 0 {
		return
	}
	requests := r.Requests
	if requests == nil {
		requests = v1.ResourceList{}
	}
	for name, q := range resourcehelper.AggregateContainerRequests(p, opts) {
		if _, ok := requests[name]; !ok && resourcehelper.IsSupportedPodLevelResource(name) && !isHugePages(name) {
			requests[name] = q.DeepCopy()
		}
	}
	for name, q := range r.Limits {
		if _, ok := requests[name]; !ok && resourcehelper.IsSupportedPodLevelResource(name) {
			requests[name] = q.DeepCopy()
		}
	}
	if len(requests) > 0 {
		r.Requests = requests
	}
}

func isHugePages(name v1.ResourceName) bool {
	return strings.HasPrefix(string(name), v1.ResourceHugePagesPrefix)
}

// defaultPodContainer is SetDefaults_Pod's part for one container: a limit
// without a request defaults the request; with hostNetwork, a port's
// hostPort defaults to its containerPort.
func defaultPodContainer(c *v1.Container, hostNetwork bool) {
	for name, limit := range c.Resources.Limits {
		if _, ok := c.Resources.Requests[name]; !ok {
			if c.Resources.Requests == nil {
				c.Resources.Requests = v1.ResourceList{}
			}
			c.Resources.Requests[name] = limit.DeepCopy()
		}
	}
	if hostNetwork {
		for i := range c.Ports {
			if c.Ports[i].HostPort == 0 {
				c.Ports[i].HostPort = c.Ports[i].ContainerPort
			}
		}
	}
}

func defaultPodSpec(s *v1.PodSpec) {
	if s.DNSPolicy == "" {
		s.DNSPolicy = v1.DNSClusterFirst
	}
	if s.RestartPolicy == "" {
		s.RestartPolicy = v1.RestartPolicyAlways
	}
	if s.SecurityContext == nil {
		s.SecurityContext = &v1.PodSecurityContext{}
	}
	if s.TerminationGracePeriodSeconds == nil {
		s.TerminationGracePeriodSeconds = ptrTo(int64(v1.DefaultTerminationGracePeriodSeconds))
	}
	if s.SchedulerName == "" {
		s.SchedulerName = v1.DefaultSchedulerName
	}
	// serviceAccount is an alias of serviceAccountName, which wins
	// (Convert_v1_PodSpec_To_core_PodSpec and back).
	if s.ServiceAccountName == "" {
		s.ServiceAccountName = s.DeprecatedServiceAccount
	}
	s.DeprecatedServiceAccount = s.ServiceAccountName
	for i := range s.Volumes {
		defaultVolume(&s.Volumes[i])
	}
	roundResources(s.Overhead)
	if r := s.Resources; r != nil {
		roundResources(r.Limits)
		roundResources(r.Requests)
	}
	for i := range s.InitContainers {
		defaultContainer(&s.InitContainers[i])
	}
	for i := range s.Containers {
		defaultContainer(&s.Containers[i])
	}
}

func defaultContainer(c *v1.Container) {
	if c.ImagePullPolicy == "" {
		if imageTagIsLatest(c.Image) {
			c.ImagePullPolicy = v1.PullAlways
		} else {
			c.ImagePullPolicy = v1.PullIfNotPresent
		}
	}
	if c.TerminationMessagePath == "" {
		c.TerminationMessagePath = v1.TerminationMessagePathDefault
	}
	if c.TerminationMessagePolicy == "" {
		c.TerminationMessagePolicy = v1.TerminationMessageReadFile
	}
	for i := range c.Ports {
		if c.Ports[i].Protocol == "" {
			c.Ports[i].Protocol = v1.ProtocolTCP
		}
	}
	roundResources(c.Resources.Limits)
	roundResources(c.Resources.Requests)
	for i := range c.Env {
		if from := c.Env[i].ValueFrom; from != nil && from.FieldRef != nil {
			defaultFieldRef(from.FieldRef)
		}
	}
	for _, pr := range []*v1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
		defaultProbe(pr)
	}
	for _, h := range []*v1.Lifecycle{c.Lifecycle} {
		if h == nil {
			continue
		}
		for _, lh := range []*v1.LifecycleHandler{h.PreStop, h.PostStart} {
			if lh != nil && lh.HTTPGet != nil {
				defaultHTTPGet(lh.HTTPGet)
			}
		}
	}
}

func defaultProbe(p *v1.Probe) {
	if p == nil {
		return
	}
	if p.TimeoutSeconds == 0 {
		p.TimeoutSeconds = 1
	}
	if p.PeriodSeconds == 0 {
		p.PeriodSeconds = 10
	}
	if p.SuccessThreshold == 0 {
		p.SuccessThreshold = 1
	}
	if p.FailureThreshold == 0 {
		p.FailureThreshold = 3
	}
	if p.HTTPGet != nil {
		defaultHTTPGet(p.HTTPGet)
	}
	if p.GRPC != nil && p.GRPC.Service == nil {
		p.GRPC.Service = ptrTo("") // +default=""
	}
}

func defaultHTTPGet(h *v1.HTTPGetAction) {
	if h.Path == "" {
		h.Path = "/"
	}
	if h.Scheme == "" {
		h.Scheme = v1.URISchemeHTTP
	}
}

// defaultVolume is SetDefaults_Volume and the defaults of the volume
// sources kubesim's users write (the removed and deprecated in-tree
// sources are left alone): a volume without a source is an emptyDir.
func defaultVolume(v *v1.Volume) {
	src := &v.VolumeSource
	if *src == (v1.VolumeSource{}) {
		src.EmptyDir = &v1.EmptyDirVolumeSource{}
		return
	}
	if src.HostPath != nil && src.HostPath.Type == nil {
		src.HostPath.Type = ptrTo(v1.HostPathUnset)
	}
	if src.Secret != nil && src.Secret.DefaultMode == nil {
		src.Secret.DefaultMode = ptrTo(v1.SecretVolumeSourceDefaultMode)
	}
	if src.ConfigMap != nil && src.ConfigMap.DefaultMode == nil {
		src.ConfigMap.DefaultMode = ptrTo(v1.ConfigMapVolumeSourceDefaultMode)
	}
	if d := src.DownwardAPI; d != nil {
		if d.DefaultMode == nil {
			d.DefaultMode = ptrTo(v1.DownwardAPIVolumeSourceDefaultMode)
		}
		defaultDownwardAPIFiles(d.Items)
	}
	if p := src.Projected; p != nil {
		if p.DefaultMode == nil {
			p.DefaultMode = ptrTo(v1.ProjectedVolumeSourceDefaultMode)
		}
		for i := range p.Sources {
			if d := p.Sources[i].DownwardAPI; d != nil {
				defaultDownwardAPIFiles(d.Items)
			}
			if t := p.Sources[i].ServiceAccountToken; t != nil && t.ExpirationSeconds == nil {
				t.ExpirationSeconds = ptrTo(int64(3600)) // SetDefaults_ServiceAccountTokenProjection: an hour
			}
		}
	}
	if e := src.Ephemeral; e != nil && e.VolumeClaimTemplate != nil {
		spec := &e.VolumeClaimTemplate.Spec
		if spec.VolumeMode == nil {
			spec.VolumeMode = ptrTo(v1.PersistentVolumeFilesystem) // SetDefaults_PersistentVolumeClaimSpec
		}
		roundResources(spec.Resources.Limits)
		roundResources(spec.Resources.Requests)
	}
}

func defaultDownwardAPIFiles(items []v1.DownwardAPIVolumeFile) {
	for i := range items {
		if items[i].FieldRef != nil {
			defaultFieldRef(items[i].FieldRef)
		}
	}
}

// defaultFieldRef is SetDefaults_ObjectFieldSelector.
func defaultFieldRef(f *v1.ObjectFieldSelector) {
	if f.APIVersion == "" {
		f.APIVersion = "v1"
	}
}

// roundResources is SetDefaults_ResourceList: quantities are rounded up
// to milli precision. A quantity it changes (rounded, or an exact one
// written with a finer scale) is stored in its canonical form; the common
// one, already at milli precision or coarser, is left as it is, map
// untouched.
func roundResources(l v1.ResourceList) {
	for name, q := range l {
		before := q
		q.RoundUp(resource.Milli)
		if q != before {
			l[name] = q
		}
	}
}

func defaultNode(n *v1.Node) {
	if n.Status.Allocatable == nil && n.Status.Capacity != nil {
		n.Status.Allocatable = n.Status.Capacity.DeepCopy()
	}
	roundResources(n.Status.Capacity)
	roundResources(n.Status.Allocatable)
}

func defaultService(s *v1.Service) {
	if s.Spec.SessionAffinity == "" {
		s.Spec.SessionAffinity = v1.ServiceAffinityNone
	}
	if s.Spec.SessionAffinity == v1.ServiceAffinityNone {
		s.Spec.SessionAffinityConfig = nil
	}
	if s.Spec.SessionAffinity == v1.ServiceAffinityClientIP {
		if s.Spec.SessionAffinityConfig == nil || s.Spec.SessionAffinityConfig.ClientIP == nil ||
			s.Spec.SessionAffinityConfig.ClientIP.TimeoutSeconds == nil {
			s.Spec.SessionAffinityConfig = &v1.SessionAffinityConfig{ClientIP: &v1.ClientIPConfig{
				TimeoutSeconds: ptrTo(int32(v1.DefaultClientIPServiceAffinitySeconds))}}
		}
	}
	if s.Spec.Type == "" {
		s.Spec.Type = v1.ServiceTypeClusterIP
	}
	for i := range s.Spec.Ports {
		sp := &s.Spec.Ports[i]
		if sp.Protocol == "" {
			sp.Protocol = v1.ProtocolTCP
		}
		if sp.TargetPort == intstr.FromInt32(0) || sp.TargetPort == intstr.FromString("") {
			sp.TargetPort = intstr.FromInt32(sp.Port)
		}
	}
	if externallyAccessible(s) && s.Spec.ExternalTrafficPolicy == "" {
		s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyCluster
	}
	if s.Spec.InternalTrafficPolicy == nil && s.Spec.Type != v1.ServiceTypeExternalName {
		p := v1.ServiceInternalTrafficPolicyCluster
		s.Spec.InternalTrafficPolicy = &p
	}
	if s.Spec.Type == v1.ServiceTypeLoadBalancer && s.Spec.AllocateLoadBalancerNodePorts == nil {
		s.Spec.AllocateLoadBalancerNodePorts = ptrTo(true)
	}
}

func defaultReplicaSet(rs *appsv1.ReplicaSet) {
	if rs.Spec.Replicas == nil {
		rs.Spec.Replicas = ptrTo(int32(1))
	}
	defaultPodSpec(&rs.Spec.Template.Spec)
}

func defaultDeployment(d *appsv1.Deployment) {
	if d.Spec.Replicas == nil {
		d.Spec.Replicas = ptrTo(int32(1))
	}
	st := &d.Spec.Strategy
	if st.Type == "" {
		st.Type = appsv1.RollingUpdateDeploymentStrategyType
	}
	if st.Type == appsv1.RollingUpdateDeploymentStrategyType {
		if st.RollingUpdate == nil {
			st.RollingUpdate = &appsv1.RollingUpdateDeployment{}
		}
		if st.RollingUpdate.MaxUnavailable == nil {
			st.RollingUpdate.MaxUnavailable = ptrTo(intstr.FromString("25%"))
		}
		if st.RollingUpdate.MaxSurge == nil {
			st.RollingUpdate.MaxSurge = ptrTo(intstr.FromString("25%"))
		}
	}
	if d.Spec.RevisionHistoryLimit == nil {
		d.Spec.RevisionHistoryLimit = ptrTo(int32(10))
	}
	if d.Spec.ProgressDeadlineSeconds == nil {
		d.Spec.ProgressDeadlineSeconds = ptrTo(int32(600))
	}
	defaultPodSpec(&d.Spec.Template.Spec)
}

// DefaultCPUUtilization is the target of an HPA created without metrics.
const DefaultCPUUtilization = 80

func defaultHPA(h *autoscalingv2.HorizontalPodAutoscaler) {
	if h.Spec.MinReplicas == nil {
		h.Spec.MinReplicas = ptrTo(int32(1))
	}
	if len(h.Spec.Metrics) == 0 {
		h.Spec.Metrics = []autoscalingv2.MetricSpec{{
			Type: autoscalingv2.ResourceMetricSourceType,
			Resource: &autoscalingv2.ResourceMetricSource{Name: v1.ResourceCPU, Target: autoscalingv2.MetricTarget{
				Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptrTo(int32(DefaultCPUUtilization))}},
		}}
	}
	// Behavior is filled in only when given (SetDefaults_HorizontalPodAutoscalerBehavior).
	if b := h.Spec.Behavior; b != nil {
		b.ScaleUp = defaultScaleUpRules(b.ScaleUp)
		b.ScaleDown = defaultScaleDownRules(b.ScaleDown)
	}
}

func defaultScaleUpRules(r *autoscalingv2.HPAScalingRules) *autoscalingv2.HPAScalingRules {
	max := autoscalingv2.MaxChangePolicySelect
	def := &autoscalingv2.HPAScalingRules{
		StabilizationWindowSeconds: ptrTo(int32(0)),
		SelectPolicy:               &max,
		Policies: []autoscalingv2.HPAScalingPolicy{
			{Type: autoscalingv2.PodsScalingPolicy, Value: 4, PeriodSeconds: 15},
			{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15},
		},
	}
	return mergeScalingRules(r, def)
}

func defaultScaleDownRules(r *autoscalingv2.HPAScalingRules) *autoscalingv2.HPAScalingRules {
	max := autoscalingv2.MaxChangePolicySelect
	def := &autoscalingv2.HPAScalingRules{
		// StabilizationWindowSeconds stays nil: the controller's
		// --horizontal-pod-autoscaler-downscale-stabilization (5m) applies.
		SelectPolicy: &max,
		Policies:     []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15}},
	}
	return mergeScalingRules(r, def)
}

func mergeScalingRules(r, def *autoscalingv2.HPAScalingRules) *autoscalingv2.HPAScalingRules {
	if r == nil {
		return def
	}
	out := r.DeepCopy()
	if out.StabilizationWindowSeconds == nil {
		out.StabilizationWindowSeconds = def.StabilizationWindowSeconds
	}
	if out.SelectPolicy == nil {
		out.SelectPolicy = def.SelectPolicy
	}
	if out.Policies == nil {
		out.Policies = def.Policies
	}
	return out
}

// defaultEndpointSlice is SetDefaults_EndpointPort (pkg/apis/discovery/v1):
// a port's name defaults to "" and its protocol to TCP.
func defaultEndpointSlice(es *discoveryv1.EndpointSlice) {
	for i := range es.Ports {
		p := &es.Ports[i]
		if p.Name == nil {
			p.Name = ptrTo("")
		}
		if p.Protocol == nil {
			p.Protocol = ptrTo(v1.ProtocolTCP)
		}
	}
}

func defaultPDB(*policyv1.PodDisruptionBudget) {}

// podQOSClass computes the pod's QoS class as upstream's qos.GetPodQOS:
// from the pod-level resources when the pod has them, else from its
// containers'.
func podQOSClass(p *v1.Pod) v1.PodQOSClass {
	requests, limits := v1.ResourceList{}, v1.ResourceList{}
	isGuaranteed := true
	if r := p.Spec.Resources; r != nil {
		isGuaranteed = addQOSResources(r, requests, limits)
	} else {
		for _, cs := range [2][]v1.Container{p.Spec.InitContainers, p.Spec.Containers} {
			for i := range cs {
				isGuaranteed = addQOSResources(&cs[i].Resources, requests, limits) && isGuaranteed
			}
		}
	}
	if len(requests) == 0 && len(limits) == 0 {
		return v1.PodQOSBestEffort
	}
	if isGuaranteed {
		for name, req := range requests {
			if l, ok := limits[name]; !ok || l.Cmp(req) != 0 {
				isGuaranteed = false
				break
			}
		}
	}
	if isGuaranteed && len(requests) == len(limits) {
		return v1.PodQOSGuaranteed
	}
	return v1.PodQOSBurstable
}

// addQOSResources adds a container's cpu and memory requests and limits
// (the positive ones) to the pod's sums, and reports whether the container
// sets limits on both.
func addQOSResources(r *v1.ResourceRequirements, requests, limits v1.ResourceList) bool {
	zero := resource.Quantity{}
	for name, q := range r.Requests {
		if name != v1.ResourceCPU && name != v1.ResourceMemory {
			continue
		}
		if q.Cmp(zero) == 1 {
			cur := requests[name]
			cur.Add(q)
			requests[name] = cur
		}
	}
	qosLimits := 0
	for name, q := range r.Limits {
		if name != v1.ResourceCPU && name != v1.ResourceMemory {
			continue
		}
		if q.Cmp(zero) == 1 {
			qosLimits++
			cur := limits[name]
			cur.Add(q)
			limits[name] = cur
		}
	}
	return qosLimits == 2
}
