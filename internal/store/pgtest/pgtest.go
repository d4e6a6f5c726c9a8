// Package pgtest starts a throwaway PostgreSQL server for tests: initdb into a temp
// directory, postgres on a free loopback port, removed when the test ends. The
// binaries come from /usr/lib/postgresql/*/bin or PATH (Debian: apt-get install
// postgresql). Without them tests skip, unless TAWTHIQ_REQUIRE_POSTGRES=1.
package pgtest

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// RequireEnv makes a missing PostgreSQL a failure instead of a skip (CI sets it).
const RequireEnv = "TAWTHIQ_REQUIRE_POSTGRES"

// Server is one running throwaway PostgreSQL.
type Server struct {
	port  int
	admin *sql.DB
	n     atomic.Int64
}

// Start starts a server for this test and returns the DSN of a fresh database on it.
func Start(t testing.TB) string {
	return StartServer(t).DSN(t)
}

// StartServer starts a server that lives until t ends; DSN gives each test its own database.
func StartServer(t testing.TB) *Server {
	t.Helper()
	bin, err := findBin()
	if err != nil {
		missing(t, err)
	}
	cred, err := credential()
	if err != nil {
		missing(t, err)
	}
	dir, err := os.MkdirTemp("", "tawthiq-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if cred != nil {
		// PostgreSQL refuses to run as root: the unprivileged user owns the directory.
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	data := filepath.Join(dir, "data")
	initdb := command(bin, "initdb", cred, "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync")
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("pgtest: initdb: %v\n%s", err, out)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{port: port}
	s.run(t, bin, cred, dir, data)
	return s
}

// run starts postgres as a child of the test (it dies with it) and waits until it answers.
func (s *Server) run(t testing.TB, bin string, cred *syscall.Credential, dir, data string) {
	t.Helper()
	logPath := filepath.Join(dir, "postgres.log")
	log, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close() // the child keeps its own descriptor
	cmd := command(bin, "postgres", cred, "-D", data, "-p", strconv.Itoa(s.port), "-k", dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=on", "-c", "max_connections=200")
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if err := cmd.Start(); err != nil {
		t.Fatalf("pgtest: start postgres: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { s.stop(cmd, done) })
	admin, err := sql.Open("pgx", s.dsn("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	s.admin = admin
	if err := waitReady(admin, done); err != nil {
		out, _ := os.ReadFile(logPath)
		t.Fatalf("pgtest: postgres did not start: %v\n%s", err, out)
	}
}

func (s *Server) stop(cmd *exec.Cmd, done chan error) {
	if s.admin != nil {
		s.admin.Close()
	}
	cmd.Process.Signal(syscall.SIGINT) // fast shutdown
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

func waitReady(db *sql.DB, done chan error) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := db.PingContext(ctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case werr := <-done:
			done <- werr
			return fmt.Errorf("postgres exited: %v", werr)
		default:
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// DSN creates a fresh database t_<n> and returns its DSN.
func (s *Server) DSN(t testing.TB) string {
	t.Helper()
	name := "t_" + strconv.FormatInt(s.n.Add(1), 10)
	// FILE_COPY (PostgreSQL 15+) is several times faster than WAL-logging the template.
	if _, err := s.admin.Exec("CREATE DATABASE " + name + " STRATEGY FILE_COPY"); err != nil {
		if _, err := s.admin.Exec("CREATE DATABASE " + name); err != nil {
			t.Fatalf("pgtest: create database: %v", err)
		}
	}
	return s.dsn(name)
}

func (s *Server) dsn(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// findBin returns the directory holding initdb and postgres, newest version first.
func findBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if hasBinaries(d) {
			return d, nil
		}
	}
	p, err := exec.LookPath("initdb")
	if err != nil {
		return "", fmt.Errorf("no PostgreSQL server binaries (initdb, postgres) in /usr/lib/postgresql/*/bin or PATH; install them with: apt-get install postgresql")
	}
	if real, err := filepath.EvalSymlinks(p); err == nil {
		p = real // Debian links /usr/local/bin/initdb to the versioned directory
	}
	if d := filepath.Dir(p); hasBinaries(d) {
		return d, nil
	}
	return "", fmt.Errorf("initdb at %s has no postgres beside it", p)
}

func version(dir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return v
}

func hasBinaries(dir string) bool {
	for _, b := range []string{"initdb", "postgres"} {
		if fi, err := os.Stat(filepath.Join(dir, b)); err != nil || fi.IsDir() {
			return false
		}
	}
	return true
}

// credential returns the unprivileged user to run the server as when we are root.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, PostgreSQL needs an unprivileged user 'postgres' (created by Debian's postgresql package): %v", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("user postgres has a non-numeric uid %q or gid %q", u.Uid, u.Gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
}

func command(bin, name string, cred *syscall.Credential, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(bin, name), args...)
	cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "LC_ALL=C", "TZ=UTC"}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	return cmd
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func missing(t testing.TB, err error) {
	t.Helper()
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("pgtest: %v (%s=1)", err, RequireEnv)
	}
	t.Skipf("pgtest: skipping PostgreSQL tests: %v (set %s=1 to fail instead)", err, RequireEnv)
}
