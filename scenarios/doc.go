// Package scenarios owns kubesim's scenario format: the types of a scenario
// (cluster, manifests, timeline of events, expectations), the strict loader
// that turns a YAML file into them or into a complete list of
// `FILE:LINE: field.path: message` errors, the static checks that need no
// cluster (references to nodes and objects that never exist, times past the
// end of the run), and the evaluation of expectations against a read-only
// view of a running cluster.
//
// It does not run anything: the runner (package scenarios/runner) builds
// the cluster from a *Scenario, schedules its Timeline, and drives a
// Checker; the built-in scenarios are in package scenarios/library. Marshal
// writes a scenario back as YAML (the property tests print a shrunk failing
// case that way).
//
//	sc, err := scenarios.Load(path, scenarios.WithValidator(apiserverValidator))
//	if err != nil {
//		fmt.Fprintln(os.Stderr, err) // an ErrorList: one FILE:LINE: error per line
//		os.Exit(2)
//	}
//	// build nodes from sc.Spec.Cluster.Nodes, create sc.InitialObjects() in
//	// order, then schedule each event of sc.Timeline() at its At.
//	chk := scenarios.NewChecker(sc.Spec.Expect)
//	for !chk.Done() {
//		deadline, _ := chk.NextDeadline()
//		for {
//			next, ok := eng.NextAt()
//			if !ok || next > deadline {
//				break
//			}
//			if next > eng.Elapsed() {
//				chk.Observe(eng.Elapsed(), cluster) // the state after the last event of this instant
//			}
//			eng.Step()
//		}
//		eng.RunUntil(deadline)
//		chk.Observe(deadline, cluster)
//	}
//	results := chk.Results()
//
// Manifests are decoded the way the API server decodes a request body
// (sigs.k8s.io/json strict decoding into the typed k8s.io/api structs); a
// second, type-directed walk over the YAML only explains a failed decode,
// field by field with lines. Nothing here reads the clock, starts goroutines
// or lets map order reach its output: errors are sorted by file and line.
package scenarios
