package tsa

import (
	"os"
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

// fdatasync writes f's data, and only the metadata needed to read it back.
func fdatasync(f *os.File) error { return unix.Fdatasync(int(f.Fd())) }

// LocalFS says whether dir is on a local file system, where an fdatasync
// means what the journal needs; network and FUSE file systems are refused.
func LocalFS(dir string) bool {
	var st unix.Statfs_t
	if unix.Statfs(dir, &st) != nil {
		return false
	}
	switch uint32(st.Type) {
	case unix.NFS_SUPER_MAGIC, unix.SMB_SUPER_MAGIC, unix.CIFS_SUPER_MAGIC, unix.SMB2_SUPER_MAGIC, unix.FUSE_SUPER_MAGIC,
		unix.AFS_SUPER_MAGIC, unix.CODA_SUPER_MAGIC, unix.V9FS_MAGIC, unix.CEPH_SUPER_MAGIC:
		return false
	}
	return true
}
