// Package dht is a BitTorrent DHT node (BEP 5): KRPC messages (with the
// IPv6 keys of BEP 32 and the "ip" key of BEP 42), node ids and the XOR
// metric, BEP 42 secure node ids, a Kademlia routing table, announce
// tokens, a bounded peer store, and the Node that puts them together on
// one UDP socket: it answers queries within per-source and global rate
// bounds and runs iterative get_peers lookups and announces.
//
// It is a leaf package: it imports nothing else of this module and trades
// plain values ([20]byte ids, netip.AddrPort addresses, []byte datagrams).
// None of its types is safe for concurrent use; a node's loop goroutine
// owns them all, so there is no mutex.
package dht
