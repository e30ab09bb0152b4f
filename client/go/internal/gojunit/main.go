// Command gojunit turns `go test -json` output (stdin) into JUnit XML (stdout):
// one testcase per test and subtest, with its output as the failure text. A
// package that failed without a failing test (a build error, TestMain exiting, a
// panic or timeout outside any test) becomes one failed case named after the
// package, so no failure goes uncounted. Lines that are not JSON events (the go
// command's own messages) are kept as that package-level output.
//
// -exit passes the exit status of `go test`: when it is not 0 and no case failed
// (the go command failed in a way no event shows), one failed case says so.
//
// Each -check NAME=EXIT=LOGFILE adds a case for a step run before the tests (go
// build, go vet, gofmt): failed when EXIT is not 0, with the log as its text.
// A summary of every case goes to stderr.
//
//	go test -json ./... | gojunit -check "go vet=0=vet.log" > junit.xml
package main

import (
	"bufio"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Time    time.Time
	Action  string
	Package string
	Test    string
	Elapsed float64
	Output  string
}

type testResult struct {
	name    string
	action  string // "pass", "fail", "skip", or "" while running
	elapsed float64
	output  strings.Builder
}

type packageResult struct {
	name    string
	action  string
	elapsed float64
	output  strings.Builder
	tests   map[string]*testResult
	order   []string
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *struct{}     `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

func main() {
	checks := junitSuite{Name: "checks", Time: seconds(0)}
	flag.Func("check", "NAME=EXIT=LOGFILE: a step's result (repeatable)", func(v string) error {
		parts := strings.SplitN(v, "=", 3)
		if len(parts) != 3 {
			return errors.New("want NAME=EXIT=LOGFILE")
		}
		log, err := os.ReadFile(parts[2])
		if err != nil {
			return err
		}
		c := junitCase{Name: parts[0], Classname: "checks", Time: seconds(0), SystemOut: string(log)}
		if parts[1] != "0" {
			c.Failure = &junitFailure{Message: "exit " + parts[1], Text: string(log)}
			c.SystemOut = ""
			checks.Failures++
		}
		checks.Cases = append(checks.Cases, c)
		checks.Tests++
		return nil
	})
	goTestExit := flag.Int("exit", 0, "the exit status of go test")
	flag.Parse()
	packages, stray, err := read(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gojunit:", err)
		os.Exit(2)
	}
	out := junitSuites{}
	if checks.Tests > 0 {
		out.Suites = append(out.Suites, checks)
	}
	failures := 0
	for _, p := range packages {
		s := suite(p)
		failures += s.Failures
		out.Suites = append(out.Suites, s)
	}
	if *goTestExit != 0 && failures == 0 {
		out.Suites = append(out.Suites, junitSuite{Name: "go test", Tests: 1, Failures: 1, Time: seconds(0),
			Cases: []junitCase{{Name: "go test", Classname: "go test", Time: seconds(0),
				Failure: &junitFailure{Message: fmt.Sprintf("go test exited %d", *goTestExit), Text: stray}}}})
	}
	report(os.Stderr, out)
	os.Stdout.WriteString(xml.Header)
	enc := xml.NewEncoder(os.Stdout)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "gojunit:", err)
		os.Exit(2)
	}
	fmt.Println()
}

// buildFailed is the go command's line for a package whose test binary did not
// build: "FAIL\tchainverify [build failed]".
var buildFailed = regexp.MustCompile(`^FAIL\s+(\S+) \[(build|setup) failed\]`)

// read returns the packages in the order they appear, and the lines that were
// not events.
func read(r io.Reader) ([]*packageResult, string, error) {
	byName := map[string]*packageResult{}
	var order []*packageResult
	pkg := func(name string) *packageResult {
		p := byName[name]
		if p == nil {
			p = &packageResult{name: name, tests: map[string]*testResult{}}
			byName[name] = p
			order = append(order, p)
		}
		return p
	}
	var stray strings.Builder // non-JSON lines, e.g. build errors
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			stray.Write(line)
			stray.WriteByte('\n')
			if m := buildFailed.FindSubmatch(line); m != nil {
				pkg(string(m[1])).action = "fail"
			}
			continue
		}
		p := pkg(e.Package)
		if e.Test == "" {
			switch e.Action {
			case "output":
				p.output.WriteString(e.Output)
			case "pass", "fail", "skip":
				p.action, p.elapsed = e.Action, e.Elapsed
			}
			continue
		}
		t := p.tests[e.Test]
		if t == nil {
			t = &testResult{name: e.Test}
			p.tests[e.Test] = t
			p.order = append(p.order, e.Test)
		}
		switch e.Action {
		case "output":
			t.output.WriteString(e.Output)
		case "pass", "fail", "skip":
			t.action, t.elapsed = e.Action, e.Elapsed
		}
	}
	if err := sc.Err(); err != nil {
		return nil, "", err
	}
	if stray.Len() > 0 {
		// Attribute the go command's own messages to the packages that failed
		// without a test to blame, or to a package of their own.
		attached := false
		for _, p := range order {
			if p.action == "fail" && !anyTestFailed(p) {
				p.output.WriteString(stray.String())
				attached = true
			}
		}
		if !attached && len(order) == 0 {
			p := pkg("go")
			p.action = "fail"
			p.output.WriteString(stray.String())
		}
	}
	return order, stray.String(), nil
}

func anyTestFailed(p *packageResult) bool {
	for _, t := range p.tests {
		if t.action == "fail" {
			return true
		}
	}
	return false
}

func suite(p *packageResult) junitSuite {
	s := junitSuite{Name: p.name, Time: seconds(p.elapsed)}
	for _, name := range p.order { // run order
		t := p.tests[name]
		c := junitCase{Name: t.name, Classname: p.name, Time: seconds(t.elapsed)}
		switch t.action {
		case "pass":
			c.SystemOut = t.output.String()
		case "skip":
			c.Skipped = &struct{}{}
			c.SystemOut = t.output.String()
			s.Skipped++
		default: // "fail", or never finished (the package panicked or timed out)
			msg := "failed"
			if t.action == "" {
				msg = "did not finish (the test binary panicked, timed out or exited)"
			}
			c.Failure = &junitFailure{Message: msg, Text: t.output.String()}
			s.Failures++
		}
		s.Cases = append(s.Cases, c)
	}
	if (p.action == "fail" || p.action == "") && s.Failures == 0 {
		msg := "package failed outside any test (build error, TestMain, panic or timeout)"
		if p.action == "" {
			msg = "package did not report a result"
		}
		s.Cases = append(s.Cases, junitCase{
			Name: "(package)", Classname: p.name, Time: seconds(p.elapsed),
			Failure: &junitFailure{Message: msg, Text: p.output.String()},
		})
		s.Failures++
	}
	s.Tests = len(s.Cases)
	return s
}

func seconds(s float64) string { return fmt.Sprintf("%.3f", s) }

// report prints one line per case, the text of each failure, and the totals.
func report(w io.Writer, out junitSuites) {
	passed, failed, skipped := 0, 0, 0
	for _, s := range out.Suites {
		for _, c := range s.Cases {
			switch {
			case c.Failure != nil:
				failed++
				fmt.Fprintf(w, "FAIL %s %s (%ss): %s\n%s", s.Name, c.Name, c.Time, c.Failure.Message, c.Failure.Text)
			case c.Skipped != nil:
				skipped++
				fmt.Fprintf(w, "SKIP %s %s\n", s.Name, c.Name)
			default:
				passed++
				fmt.Fprintf(w, "ok   %s %s (%ss)\n", s.Name, c.Name, c.Time)
			}
		}
	}
	fmt.Fprintf(w, "client/go: %d passed, %d failed, %d skipped\n", passed, failed, skipped)
}
