package tsa

import (
	"time"

	"golang.org/x/sys/unix"
)

func kernelStatus() (time.Duration, bool) {
	var tx unix.Timex
	state, err := unix.Adjtimex(&tx)
	if err != nil || state == unix.TIME_ERROR || tx.Status&unix.STA_UNSYNC != 0 {
		return 0, false
	}
	// maxerror (µs) bounds the clock's error; esterror is only an estimate.
	return time.Duration(tx.Maxerror) * time.Microsecond, true
}

func kernelAvailable() bool {
	var tx unix.Timex
	_, err := unix.Adjtimex(&tx)
	return err == nil
}
