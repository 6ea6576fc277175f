// Package kubelet is kubesim's node agent: one Kubelet per node, a state
// machine stepped by engine events, talking to the API server through a
// typed client acting as "kubelet/<node>" and watching the pods bound to its
// node through an informer narrowed with spec.nodeName=<node> (indexed by
// the API server, so a kubelet only ever handles its own pods).
//
// It owns:
//   - node registration (capacity, allocatable, labels, taints, podCIDR,
//     addresses, nodeInfo, the Ready/MemoryPressure/DiskPressure/PIDPressure
//     conditions with upstream's reasons and messages, and the events of
//     its status setters: a pressure condition's at its creation, Ready's
//     only at a change of an existing Ready condition, NodeNotSchedulable
//     and NodeSchedulable, Rebooted), registering again after a reboot (a
//     new kubelet process: default labels and the attach-detach annotation
//     reconciled, or the Node created again if it was deleted), but not
//     when the Node is deleted under a running kubelet; the node status loop
//     (recomputed every 10 s, written only when it changed or every 5 min;
//     it also puts back the kubernetes.io/os and arch labels) and the node
//     Lease in kube-node-lease (renewed every 10 s, 40 s duration, owned by
//     the Node, not created without it); both loops carry upstream's 4 %
//     jitter;
//   - the simulated container runtime: admission (resources, pods count,
//     OS, node affinity, host ports, NoExecute taints, with upstream's
//     OutOfcpu-style reasons and messages), a pod sandbox with an IP from the
//     node's pod CIDR, a per-node image cache with serialized pulls,
//     init containers in order (sidecars included), container start,
//     restartPolicy and CrashLoopBackOff (10 s doubling to 5 min from the
//     container's finish, first restart immediate, reset after 10 min; a
//     back-off entry not updated for 10 min is dropped, as the
//     housekeeping's flowcontrol GC does, ending the wait; a restart after
//     a probe kill checks the back-off against the previous run's finish,
//     as upstream's doBackOff reads the status from before the kill),
//     startup/readiness/liveness probes as engine timers, graceful
//     termination (preStop, stop signal, kill at the grace period plus the
//     one-time 2 s extension after a preStop hook; sidecars stopped after
//     the regular containers, in reverse order; a later delete with a
//     shorter grace period kills them again, preStop hook included, with
//     that grace counted from then) and the final delete with grace 0;
//   - the pod status it writes (phase, conditions with transition times,
//     container statuses with states, reasons, restart counts, last
//     states; status.observedGeneration and the observedGeneration of the
//     conditions it owns are the pod's metadata.generation it has seen, so a
//     spec change or a deletion is written again), at most one write per
//     pod per instant and only when something changed, and the events
//     upstream's kubelet records.
//
// Usage loop (the cluster package wires this for every node):
//
//	pods := factory.Pods(informer.WithFieldSelector("spec.nodeName=" + node))
//	k, err := kubelet.New(eng, client, recorder, pods, kubelet.NodeSpec{Name: node, ...}, kubelet.Config{})
//	err = k.Start()          // registers the Node, creates the Lease
//	eng.RunFor(time.Minute)  // pods bound to the node run
//	k.Crash(); k.Recover()   // or Partition / Recover, Stop
//
// # Container behaviour model
//
// What a container does is set by pod annotations (documented on the
// Annotation constants): how long its image pull and start take, when it
// crashes or completes and with which exit code, when its readiness or
// liveness probes fail, how long it takes to start serving, how long its
// preStop hook and its shutdown take, and whether its image pull fails.
// Each annotation applies to every container of the pod; suffixed with
// "." and a container name it applies to that container only. Times are
// measured from each start of the container. Probe results come from this
// model: a probe succeeds unless the model says the application is still
// starting or failing at that moment (timeoutSeconds is not modelled: a
// probe answers at once).
//
// # Simplifications against upstream
//
//   - The runtime is instant apart from the modelled durations: no PLEG
//     relist delay (a container's exit is seen at once and its first restart
//     is immediate), no pod worker queueing, no volume setup, no cgroups,
//     no eviction manager (MemoryPressure, DiskPressure and PIDPressure
//     stay False), no image garbage collection.
//   - A container in CrashLoopBackOff restarts the moment its back-off
//     ends, and its BackOff event is recorded once per exit. Upstream's pod
//     worker syncs the pod again some time after (v1.35+: at the back-off's
//     end plus up to 50 % jitter, at least every minute; before: every
//     10–15 s), recording BackOff at each of those syncs. A failed image
//     pull is tried again at the pod's resync 10 s later (upstream: 10–15 s,
//     or earlier with another sync of the pod).
//   - Image sizes are a deterministic function of the image name (20–500
//     MiB); a pull takes the configured duration whatever the size, and an
//     imagePullPolicy Always pull of a present image takes as long as a
//     first pull. status.images lists each image under its reference only.
//   - A container stopped by the kubelet (deletion, probe failure) exits
//     with code 0 (Completed) if it stops within its grace period, or is
//     killed with 137 (Error); a container killed from outside
//     (KillContainer) exits with 137. A crashed node's containers come back
//     as exited with reason Unknown and code 255, as containerd reports them
//     after a reboot; init containers run again.
//   - Probes tick as upstream's prober workers (the default up to v1.37):
//     every periodSeconds from the pod's admission (or the kubelet's
//     reboot), a tick probing a container only once its
//     initialDelaySeconds passed; a readiness probe also runs at once at
//     each sync of the pod while its container is started but not ready,
//     which restarts its period. The syncs modelled are a container's start
//     or exit and a probe result's change (upstream also syncs the pod
//     every minute and on updates of the pod). Not modelled: the random
//     first delay of the workers created within one period of the
//     kubelet's start, the PLEG delay before a new container is probed, and
//     the consecutive results upstream's workers carry over from a
//     container's previous run.
//   - Exec probe failures report "command exited with code 1" (upstream:
//     the command's output); HTTP probe failures status code 503
//     (readiness) or 500 (liveness), gRPC ones NOT_SERVING, and while the
//     application is starting "connection refused" (HTTP, TCP) or the
//     gRPC dial's timeout.
//   - Spec changes of a running pod (a new image) are not acted on;
//     activeDeadlineSeconds, ephemeral containers, in-place resize, static
//     and mirror pods, and device/DRA resources are not modelled.
//   - The pod status is written with a full update on top of the version
//     the kubelet has (upstream's status manager patches), and so is the
//     node status (upstream: a strategic merge patch without a
//     resourceVersion); reads of its own Node use the API server's cache
//     (resourceVersion 0; upstream: its node informer).
//   - Node side: no cloud provider (no providerID, no instance-type or
//     cloud zone labels, no node.cloudprovider.kubernetes.io/uninitialized
//     taint, no NetworkUnavailable condition); capacity is what the node
//     spec gives (no ephemeral-storage or hugepages unless given) and
//     allocatable defaults to it (upstream subtracts kube-reserved,
//     system-reserved and the hard eviction thresholds: 100Mi of memory, 10 %
//     of ephemeral-storage); the node.alpha.kubernetes.io/ttl annotation is
//     registered as "0" (upstream's TTL controller sets it, 0 up to 100
//     nodes); the status carries no runtimeHandlers, features or swap
//     information. A start records the events of its initial Node once
//     (upstream builds it more than once, folding them into "x2" and more).
//     A healed partition writes the node status and renews the Lease at
//     once (upstream: at the next tick of each loop, up to 10 s, or the
//     lease controller's back-off, up to 7 s).
package kubelet
