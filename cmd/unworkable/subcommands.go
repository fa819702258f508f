package main

import (
	"fmt"
	"io"

	"github.com/spf13/pflag"
)

// subcommands maps the first argument to a subcommand. Anything else is a
// download (or seed) of a .torrent file.
var subcommands = map[string]func(args []string, stdout, stderr io.Writer) int{
	"create": runCreate,
	"info":   runInfo,
	"verify": runVerify,
}

// subcmd is the flag handling every subcommand shares: -h/--help, exactly
// one argument, usage on stdout for --help and on stderr with exit 2 for a
// usage error.
type subcmd struct {
	name  string // "create"
	usage string // the usage line
	exits string // the exit-status sentence of its --help
	arg   string // what the one argument is, for the error message
	fs    *pflag.FlagSet
	help  *bool
}

// newSubcmd returns a subcommand whose flags the caller adds to fs.
func newSubcmd(name, usage, exits, arg string) *subcmd {
	fs := pflag.NewFlagSet("unworkable "+name, pflag.ContinueOnError)
	fs.SetInterspersed(true)
	fs.SetOutput(io.Discard)
	c := &subcmd{name: name, usage: usage, exits: exits, arg: arg, fs: fs}
	c.help = fs.BoolP("help", "h", false, "print this help and exit")
	return c
}

// parse parses args, then runs check (more validation, may be nil). When
// done is true the caller returns code at once.
func (c *subcmd) parse(args []string, stdout, stderr io.Writer, check func() error) (code int, done bool) {
	err := c.fs.Parse(args)
	if err == nil && *c.help {
		c.printUsage(stdout)
		return exitOK, true
	}
	if err == nil && c.fs.NArg() != 1 {
		err = fmt.Errorf("exactly one %s expected", c.arg)
	}
	if err == nil && check != nil {
		err = check()
	}
	if err != nil {
		fmt.Fprintf(stderr, "unworkable: %s: %v\n", c.name, err)
		c.printUsage(stderr)
		return exitUsage, true
	}
	return exitOK, false
}

// printUsage writes the usage line, the flags and the exit statuses.
func (c *subcmd) printUsage(w io.Writer) {
	fmt.Fprintln(w, c.usage)
	fmt.Fprint(w, c.fs.FlagUsages())
	fmt.Fprintf(w, "\nExit status: %s\n", c.exits)
}
