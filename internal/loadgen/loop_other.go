//go:build !linux

package loadgen

import (
	"context"
	"time"
)

// runEventLoops runs the lean clients a goroutine each where there is no epoll.
func runEventLoops(ctx context.Context, cfg *Config, t *leanTarget, until time.Time, judge judgeFunc, _ int) []clientResult {
	return runClients(ctx, cfg, func() (doer, error) { return newLeanConn(t, until), nil }, judge)
}
