package cluster

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/kubesim/kubesim/scheduler"
	"github.com/kubesim/kubesim/sim"
	"github.com/kubesim/kubesim/sim/client"
	"github.com/kubesim/kubesim/sim/record"
)

// schedulerAPI implements scheduler.API with the typed client, as
// kube-scheduler's DefaultBinder, status patcher, preemption executor and
// event broadcaster do.
type schedulerAPI struct {
	c   client.Interface
	rec *record.Recorder
	eng *sim.Engine
}

func (a *schedulerAPI) Bind(pod *v1.Pod, nodeName string) error {
	// pods.Bind, straight to the API server as the client's user (the
	// typed client would be made for every pod).
	return a.c.Server().Bind(a.c.User(), pod.Namespace, &v1.Binding{
		ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		Target:     v1.ObjectReference{Kind: "Node", Name: nodeName},
	})
}

func (a *schedulerAPI) SetUnschedulable(pod *v1.Pod, cond v1.PodCondition, nominatedNode string) error {
	return a.updateStatus(pod, func(st *v1.PodStatus) {
		setCondition(st, cond)
		st.NominatedNodeName = nominatedNode
	})
}

func (a *schedulerAPI) SetNominatedNode(pod *v1.Pod, nodeName string) error {
	return a.updateStatus(pod, func(st *v1.PodStatus) { st.NominatedNodeName = nodeName })
}

func (a *schedulerAPI) Preempt(victim, preemptor *v1.Pod) error {
	// apipod.UpdatePodCondition stamps the transition time.
	cond := scheduler.DisruptionTargetCondition(victim, preemptor)
	cond.LastTransitionTime = metav1.NewTime(a.eng.Now())
	if err := a.updateStatus(victim, func(st *v1.PodStatus) { setCondition(st, cond) }); err != nil {
		return err
	}
	return a.c.CoreV1().Pods(victim.Namespace).Delete(context.TODO(), victim.Name, metav1.DeleteOptions{})
}

func (a *schedulerAPI) Event(obj *v1.Pod, eventType, reason, message string) {
	a.rec.Event(obj, eventType, reason, message)
}

// updateStatus reads the latest pod and writes its status with mutate
// applied (the scheduler's cached copy may be a little stale).
func (a *schedulerAPI) updateStatus(pod *v1.Pod, mutate func(*v1.PodStatus)) error {
	pods := a.c.CoreV1().Pods(pod.Namespace)
	cur, err := pods.Get(context.TODO(), pod.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if cur.UID != pod.UID {
		return nil // replaced by another pod of the same name
	}
	mutate(&cur.Status)
	_, err = pods.UpdateStatus(context.TODO(), cur, metav1.UpdateOptions{})
	return err
}

// setCondition replaces the condition of c.Type, keeping its transition
// time when the status is unchanged.
func setCondition(st *v1.PodStatus, c v1.PodCondition) {
	for i := range st.Conditions {
		if st.Conditions[i].Type == c.Type {
			if st.Conditions[i].Status == c.Status && !st.Conditions[i].LastTransitionTime.IsZero() {
				c.LastTransitionTime = st.Conditions[i].LastTransitionTime
			}
			st.Conditions[i] = c
			return
		}
	}
	st.Conditions = append(st.Conditions, c)
}

// installScheduler creates the scheduler and connects it to the informers.
func (c *Cluster) installScheduler(cfg scheduler.Config) {
	api := &schedulerAPI{c: c.Client("default-scheduler"), rec: c.Recorder("default-scheduler", ""), eng: c.Engine}
	s := scheduler.New(c.Engine, api, cfg)
	c.Scheduler = s
	f := c.Informers
	f.Nodes().AddEventHandler(handlers(s.OnNodeAdd, s.OnNodeUpdate, s.OnNodeDelete))
	f.Pods().AddEventHandler(handlers(s.OnPodAdd, s.OnPodUpdate, s.OnPodDelete))
	f.Services().AddEventHandler(handlers(s.OnServiceAdd, s.OnServiceUpdate, s.OnServiceDelete))
	f.ReplicaSets().AddEventHandler(handlers(s.OnReplicaSetAdd, s.OnReplicaSetUpdate, s.OnReplicaSetDelete))
	f.PodDisruptionBudgets().AddEventHandler(handlers(s.OnPDBAdd, s.OnPDBUpdate, s.OnPDBDelete))
	f.PriorityClasses().AddEventHandler(handlers(s.OnPriorityClassAdd, s.OnPriorityClassUpdate, s.OnPriorityClassDelete))
	f.Namespaces().AddEventHandler(handlers(s.OnNamespaceAdd, s.OnNamespaceUpdate, s.OnNamespaceDelete))
}

// handlers adapts typed callbacks to a cache.ResourceEventHandler,
// unwrapping DeletedFinalStateUnknown tombstones.
func handlers[T any](add func(T), update func(old, new T), del func(T)) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { add(obj.(T)) },
		UpdateFunc: func(old, new any) { update(old.(T), new.(T)) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if o, ok := obj.(T); ok {
				del(o)
			}
		},
	}
}

var (
	_ = appsv1.ReplicaSet{}
	_ = policyv1.PodDisruptionBudget{}
	_ = schedulingv1.PriorityClass{}
)
