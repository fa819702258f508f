// Package dht is a BitTorrent DHT node's building blocks: KRPC messages
// (BEP 5, with the IPv6 keys of BEP 32 and the "ip" key of BEP 42), node
// ids and the XOR metric, BEP 42 secure node ids, a Kademlia routing
// table, announce tokens and a bounded peer store.
//
// It is a leaf package: it imports nothing else of this module and trades
// plain values ([20]byte ids, netip.AddrPort addresses, []byte datagrams).
// None of its types is safe for concurrent use; a node's loop goroutine
// owns them all, so there is no mutex.
package dht
