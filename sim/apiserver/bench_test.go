package apiserver_test

import (
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// BenchmarkCreatePod measures typed-client pod creates through defaulting,
// admission, validation, encoding and the store, with the watch cache
// processing every event.
func BenchmarkCreatePod(b *testing.B) {
	e := newEnv(&testing.T{})
	pods := e.c.CoreV1().Pods("default")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := pods.Create(ctx, pod(fmt.Sprintf("p-%d", i)), metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		if i%1000 == 999 {
			e.eng.RunUntilIdle(1 << 20)
		}
	}
	e.eng.RunUntilIdle(1 << 20)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
}

// BenchmarkUpdatePodStatus measures status writes of one pod (what kubelets do).
func BenchmarkUpdatePodStatus(b *testing.B) {
	e := newEnv(&testing.T{})
	pods := e.c.CoreV1().Pods("default")
	p, err := pods.Create(ctx, pod("p"), metav1.CreateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.Status.Message = fmt.Sprint(i)
		if p, err = pods.UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			b.Fatal(err)
		}
		if i%1000 == 999 {
			e.eng.RunUntilIdle(1 << 20)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "updates/s")
}

// BenchmarkWatchFanout1000 measures pod writes delivered to 1,000 API
// watchers (each filtering by namespace), through the engine.
func BenchmarkWatchFanout1000(b *testing.B) {
	e := newEnv(&testing.T{})
	res, _ := e.s.Resource("pods")
	delivered := 0
	for i := 0; i < 1000; i++ {
		if _, err := e.s.Watch(res, "default", metav1.ListOptions{ResourceVersion: "0"}, func(watch.Event) { delivered++ }); err != nil {
			b.Fatal(err)
		}
	}
	e.eng.RunUntilIdle(1 << 20)
	pods := e.c.CoreV1().Pods("default")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := pods.Create(ctx, pod(fmt.Sprintf("p-%d", i)), metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		e.eng.RunUntilIdle(1 << 20)
	}
	if delivered != 1000*b.N {
		b.Fatalf("delivered %d events, want %d", delivered, 1000*b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
	b.ReportMetric(float64(delivered)/b.Elapsed().Seconds(), "deliveries/s")
}

var _ = v1.Pod{}

// BenchmarkCreateEvent measures event creates as recorders send them
// (CreateOwned: the server takes the object), into a store that already
// holds many events, as in a big cluster.
func BenchmarkCreateEvent(b *testing.B) {
	e := newEnv(&testing.T{})
	res, _ := e.s.Resource("events")
	now := metav1.NewTime(e.eng.Now())
	mk := func(i int) *v1.Event {
		name := fmt.Sprintf("pod-%06d.%x", i, 1700000000000000000+i)
		return &v1.Event{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			InvolvedObject: v1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: "default", Name: fmt.Sprintf("pod-%06d", i),
				UID: "6b1d2c4e-8f0a-4b3c-9d2e-1f0a2b3c4d5e", ResourceVersion: "12345", FieldPath: "spec.containers{c}"},
			Reason: "Pulled", Message: `Container image "registry.k8s.io/pause:3.10" already present on machine`,
			FirstTimestamp: now, LastTimestamp: now, Count: 1, Type: v1.EventTypeNormal,
			Source:              v1.EventSource{Component: "kubelet", Host: "node-00001"},
			ReportingController: "kubelet", ReportingInstance: "node-00001"}
	}
	const warm = 200_000
	for i := 0; i < warm; i++ {
		if _, err := e.s.CreateOwned("bench", res, "default", mk(i), metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	e.eng.RunUntilIdle(1 << 30)
	evs := make([]*v1.Event, b.N)
	for i := range evs {
		evs[i] = mk(warm + i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.s.CreateOwned("bench", res, "default", evs[i], metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		if i%1000 == 999 {
			e.eng.RunUntilIdle(1 << 20)
		}
	}
	e.eng.RunUntilIdle(1 << 20)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
}
