package main

import "io"

// subcommands maps the first argument to a subcommand. Anything else is a
// download (or seed) of a .torrent file.
var subcommands = map[string]func(args []string, stdout, stderr io.Writer) int{
	"create": runCreate,
	"info":   runInfo,
	"verify": runVerify,
}
