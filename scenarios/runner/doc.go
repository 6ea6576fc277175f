// Package runner runs a scenario (package scenarios) on a fresh simulated
// cluster (sim/cluster): it creates the nodes of spec.cluster.nodes and the
// manifests at t=0, schedules every timeline event on the engine, drives
// the expectation Checker after the last event of every instant and at
// every deadline, and returns a Result: each expectation's outcome, the
// errors of actions the cluster refused, and a summary of the cluster at
// the end. It also turns the run's trace and Events into a readable
// timeline (Entry; see storyteller for what it leaves out and merges, and
// the request failures and recoveries it reads from the traffic model
// without changing the run) and answers "why is this pod here / still
// Pending" (Run.Explain).
//
// Faults (crashNode, partitionNode, recoverNode, addNode, deleteNode,
// cordon, uncordon, drain, failZone, recoverZone) go to the cluster with
// Cluster.Inject. The kubectl-like actions are done here the way kubectl
// does them, through the API server as user "kubectl": apply (create, or a
// three-way strategic merge patch against the
// kubectl.kubernetes.io/last-applied-configuration annotation), delete
// (background cascading), scale (/scale), rolloutUndo
// (deployment/util.Rollback), rolloutRestart (the restartedAt template
// annotation), labelNode, taintNode and untaintNode (two-way strategic
// merge patches); killPod picks a running pod of a workload from the
// run's seeded "kubectl" stream and kills a container through the
// cluster; setLoad and setPodLoad call the cluster's load facade.
//
// The runner is a state machine like the rest of the core: no goroutines,
// no clock. The caller advances it:
//
//	sc, err := runner.Load("node-failure.yaml") // FILE:LINE errors, nothing runs
//	r, err := runner.New(sc, runner.Options{Story: func(e runner.Entry) { fmt.Println(e) }})
//	for t := time.Duration(0); t < r.Until(); t += time.Minute {
//		r.AdvanceTo(t) // e.g. to draw a progress bar
//	}
//	res := r.Finish()
//	if !res.OK() { ... }
//
// Simplifications: a load ramp is a staircase of 1 s steps (at most 1000
// steps); a run error (an action the cluster refused) does not stop the
// run, it is reported and fails it.
package runner
