module github.com/unworkable/unworkable

go 1.26.8

require (
	github.com/anacrolix/torrent v1.62.0
	github.com/spf13/pflag v1.0.10
	golang.org/x/sys v0.50.0
)

require (
	github.com/anacrolix/missinggo v1.3.0 // indirect
	github.com/anacrolix/missinggo/v2 v2.11.0 // indirect
	github.com/huandu/xstrings v1.3.2 // indirect
)
