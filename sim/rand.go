package sim

import (
	"hash/fnv"
	"math/rand/v2"
)

// Rand returns the random stream named stream, derived from the engine's
// seed and the name alone. Streams are independent of one another and of the
// order in which components ask for them, so adding a component does not
// change the draws another component sees. Each component instance must use
// its own name ("scheduler", "kubelet/node-1"); asking twice for one name
// returns two generators that produce the same sequence.
//
// This is the only source of randomness in the core: no package under sim/,
// scheduler/, controllers/, netsim/ or scenarios/ may use the global
// math/rand functions or crypto/rand.
func (e *Engine) Rand(stream string) *rand.Rand {
	return rand.New(rand.NewPCG(e.seed, streamID(stream)))
}

func streamID(name string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(name))
	return h.Sum64()
}
