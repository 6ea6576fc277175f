package controllerutil

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apps "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

var rsKind = apps.SchemeGroupVersion.WithKind("ReplicaSet")

func testRS() *apps.ReplicaSet {
	return &apps.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "rs", Namespace: "ns", UID: "rs-uid"}}
}

func labelled(name string, l map[string]string, owner *metav1.OwnerReference) *v1.Pod {
	p := pod(name)
	p.Labels = l
	if owner != nil {
		p.OwnerReferences = []metav1.OwnerReference{*owner}
	}
	return p
}

func TestDecideClaim(t *testing.T) {
	rs := testRS()
	ours := NewControllerRef(rs, rsKind)
	theirs := NewControllerRef(&apps.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "other", UID: "other-uid"}}, rsKind)
	deletingRS := testRS()
	deletingRS.DeletionTimestamp = &metav1.Time{Time: epoch}
	deletingPod := labelled("d", nil, nil)
	deletingPod.DeletionTimestamp = &metav1.Time{Time: epoch}
	otherNS := labelled("o", nil, nil)
	otherNS.Namespace = "elsewhere"

	tests := []struct {
		name  string
		ctrl  metav1.Object
		obj   metav1.Object
		match bool
		want  ClaimAction
	}{
		{"ours and matching", rs, labelled("p", nil, ours), true, ClaimOwned},
		{"ours, matching, while deleting", deletingRS, labelled("p", nil, ours), true, ClaimOwned},
		{"ours, not matching ⇒ release", rs, labelled("p", nil, ours), false, ClaimRelease},
		{"ours, not matching, controller deleting ⇒ keep hands off", deletingRS, labelled("p", nil, ours), false, ClaimIgnore},
		{"someone else's", rs, labelled("p", nil, theirs), true, ClaimIgnore},
		{"orphan matching ⇒ adopt", rs, labelled("p", nil, nil), true, ClaimAdopt},
		{"orphan not matching", rs, labelled("p", nil, nil), false, ClaimIgnore},
		{"orphan while controller deleting", deletingRS, labelled("p", nil, nil), true, ClaimIgnore},
		{"orphan being deleted", rs, deletingPod, true, ClaimIgnore},
		{"orphan in another namespace", rs, otherNS, true, ClaimIgnore},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, DecideClaim(tc.ctrl, tc.obj, tc.match), tc.name)
	}
}

func TestControllerRefManagerClaim(t *testing.T) {
	rs := testRS()
	ours := NewControllerRef(rs, rsKind)
	sel := labels.SelectorFromSet(labels.Set{"app": "web"})
	pods := []*v1.Pod{
		labelled("owned", map[string]string{"app": "web"}, ours),
		labelled("orphan", map[string]string{"app": "web"}, nil),
		labelled("stray", map[string]string{"app": "db"}, ours),
		labelled("gone-orphan", map[string]string{"app": "web"}, nil),
		labelled("filtered-orphan", map[string]string{"app": "web"}, nil),
	}
	var adopted, released []string
	canAdoptCalls := 0
	m := &ControllerRefManager[*v1.Pod]{
		Controller: rs,
		Selector:   sel,
		CanAdopt:   func() error { canAdoptCalls++; return nil },
		Adopt: func(p *v1.Pod) error {
			if p.Name == "gone-orphan" {
				return apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, p.Name)
			}
			adopted = append(adopted, p.Name)
			p.OwnerReferences = AdoptOwnerReferences(p, rs, rsKind)
			return nil
		},
		Release: func(p *v1.Pod) error {
			released = append(released, p.Name)
			p.OwnerReferences = ReleaseOwnerReferences(p, rs.UID)
			return nil
		},
	}
	claimed, err := m.Claim(pods, func(p *v1.Pod) bool { return p.Name != "filtered-orphan" })
	require.NoError(t, err)
	assert.Equal(t, []string{"owned", "orphan"}, names(claimed))
	assert.Equal(t, []string{"orphan"}, adopted)
	assert.Equal(t, []string{"stray"}, released)
	assert.Equal(t, 1, canAdoptCalls, "the live re-check runs once per claim")
	assert.True(t, metav1.IsControlledBy(pods[1], rs))
	assert.Empty(t, pods[2].OwnerReferences)
}

func TestControllerRefManagerCannotAdopt(t *testing.T) {
	rs := testRS()
	deleted := testRS()
	deleted.DeletionTimestamp = &metav1.Time{Time: epoch}
	m := &ControllerRefManager[*v1.Pod]{
		Controller: rs,
		Selector:   labels.Everything(),
		CanAdopt:   RecheckDeletionTimestamp(func() (metav1.Object, error) { return deleted, nil }),
		Adopt:      func(*v1.Pod) error { t.Fatal("must not adopt"); return nil },
		Release:    func(*v1.Pod) error { return nil },
	}
	claimed, err := m.Claim([]*v1.Pod{labelled("a", nil, nil), labelled("b", nil, nil)})
	assert.Empty(t, claimed)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "has just been deleted")

	m2 := &ControllerRefManager[*v1.Pod]{
		Controller: rs, Selector: labels.Everything(),
		CanAdopt: RecheckDeletionTimestamp(func() (metav1.Object, error) { return nil, errors.New("gone") }),
		Adopt:    func(*v1.Pod) error { return nil }, Release: func(*v1.Pod) error { return nil },
	}
	_, err = m2.Claim([]*v1.Pod{labelled("a", nil, nil)})
	assert.ErrorContains(t, err, "can't recheck DeletionTimestamp")
}

func TestOwnerRefPatches(t *testing.T) {
	rs := testRS()
	b, err := OwnerRefControllerPatch(rs, rsKind, "pod-uid")
	require.NoError(t, err)
	assert.JSONEq(t, `{"metadata":{"ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"rs","uid":"rs-uid","controller":true,"blockOwnerDeletion":true}],"uid":"pod-uid"}}`, string(b))
	b, err = GenerateDeleteOwnerRefStrategicMergeBytes("pod-uid", []types.UID{"rs-uid"})
	require.NoError(t, err)
	assert.JSONEq(t, `{"metadata":{"uid":"pod-uid","ownerReferences":[{"$patch":"delete","uid":"rs-uid"}]}}`, string(b))
}
