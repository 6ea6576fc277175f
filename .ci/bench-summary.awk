# Summarises `go test -bench` output of make bench / make bench-scale:
# the figures the README quotes, with their ratios.
function metric(line, unit,   n, i, f) {
	n = split(line, f, /[ \t]+/)
	for (i = 2; i <= n; i++) if (f[i] == unit) return f[i-1]
	return ""
}
function human(x) {
	if (x >= 1e6) return sprintf("%.2fM", x / 1e6)
	if (x >= 1e3) return sprintf("%.1fk", x / 1e3)
	return sprintf("%.0f", x)
}
/^BenchmarkEngineVsBareLoop/ { ratio = metric($0, "engine/bare"); eng = metric($0, "engine-events/s"); bare = metric($0, "bare-events/s") }
/^BenchmarkPut\/distinct-keys/ { putNew = metric($0, "writes/s") }
/^BenchmarkPut\/10k-keys-updates/ { putUpd = metric($0, "writes/s") }
/^BenchmarkTxnCAS/ { cas = metric($0, "txns/s") }
/^BenchmarkWatchFanout1000\/plain/ { fanStore = metric($0, "deliveries/s"); fanStoreW = metric($0, "writes/s") }
/^BenchmarkWatchFanout1000(-[0-9]+)?[ \t]/ { fanAPI = metric($0, "deliveries/s"); fanAPIW = metric($0, "writes/s") }
/^BenchmarkCreatePod/ { createPod = metric($0, "creates/s") }
/^BenchmarkCreateEvent/ { createEv = metric($0, "creates/s") }
/^BenchmarkUpdatePodStatus/ { updPod = metric($0, "updates/s") }
/^BenchmarkScale/ {
	name = $1; sub(/-[0-9]+$/, "", name); sub(/^BenchmarkScale/, "", name)
	if (name ~ /SchedulerOnly/) schedOnly = 1
	rss = metric($0, "peak-rss-MiB")
	rss = rss == "" ? "" : sprintf(", RSS %5.0f", rss)
	scale[++ns] = sprintf("  %-23s %6.0f pods/s (%4.1f× upstream's 810) %6.0f pods/CPU-s  peak heap %5.0f MiB (runtime %5.0f%s)  live after %5.0f MiB  %4.1f KiB in %3.0f allocations/pod  GC %2.0f%% of CPU",
		name, metric($0, "pods/s"), metric($0, "pods/s") / 810, metric($0, "pods/cpu-s"), metric($0, "peak-heap-MiB"), metric($0, "peak-sys-MiB"), rss, metric($0, "live-heap-MiB"), metric($0, "alloc-KiB/pod"), metric($0, "allocs/pod"), metric($0, "gc-cpu-%"))
}
END {
	print ""
	print "== kubesim benchmark summary =="
	if (ratio != "")
		printf "  engine vs bare heap loop    %.2f× (engine %s events/s, bare loop %s events/s, same run)\n", ratio, human(eng), human(bare)
	if (putNew != "")
		printf "  store writes                %s/s new keys, %s/s updates over 10k keys, %s/s compare-and-swap txns\n", human(putNew), human(putUpd), human(cas)
	if (fanStore != "")
		printf "  store watch fan-out         1,000 watchers: %s deliveries/s (%s writes/s)\n", human(fanStore), human(fanStoreW)
	if (fanAPI != "")
		printf "  API watch fan-out           1,000 watchers: %s deliveries/s (%s writes/s)\n", human(fanAPI), human(fanAPIW)
	if (createPod != "")
		printf "  API server                  %s pod creates/s, %s pod status updates/s, %s event creates/s\n", human(createPod), human(updPod), human(createEv)
	if (ns > 0) {
		print "  scheduling at scale (API server, scheduler, binding, kubelet start; one core):"
		for (i = 1; i <= ns; i++) print scale[i]
		if (schedOnly)
			print "  (SchedulerOnly: scheduler_perf's scope — no kubelets, a pod counts once bound; the targets are for the runs with kubelets)"
	}
}
