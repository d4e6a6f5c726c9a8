package tsa_test

import (
	"sync/atomic"

	"github.com/tawthiq/tawthiq/internal/tsa"
)

type atomicFixed struct{ p atomic.Pointer[tsa.Fixed] }

func (a *atomicFixed) Store(f tsa.Fixed) { a.p.Store(&f) }
func (a *atomicFixed) Load() tsa.Fixed   { return *a.p.Load() }
