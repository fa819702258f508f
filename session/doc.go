// Package session runs torrents: it composes the leaf packages (metainfo,
// peer, piece, storage, tracker) around one event loop per torrent that
// owns all of that torrent's state. A Host owns what the torrents of a
// process share: the listener, the peer id, the rate limits and the
// connection count. Peers, dialers, the tracker announcer and the hashers
// run in goroutines of their own and report to the loop over channels;
// none of them touches the loop's fields, so a session has no mutex.
//
// A session exists before its metainfo. Its loop goes through phases:
// metadata (a magnet: the info dictionary is fetched from peers with
// ut_metadata, metadata.go), check (the piece table and the storage are
// built and existing data is hashed by the hashers, phase.go) and transfer
// (downloading, then seeding). A signal ends any phase the same way.
//
// One block, from the socket to the disk:
//
//  1. Host.dial or Host.accept (conn.go) turns a socket into a handshaken
//     peer.Conn and hands it to the loop on the session's conns channel;
//     addPeer (peers.go) starts the peer's reader and writer goroutines.
//  2. The reader (readLoop) decodes a Piece message into a pooled 16 KiB
//     buffer (blocks.go), waits on the host's download limit and sends it
//     to the loop as an event.
//  3. The loop's handle and handleMsg (handlers.go) call onPiece
//     (requests.go): a block we requested is recorded as received in the
//     piece table and staged in the peer's run of consecutive blocks
//     (stage.go), which is written with one pwritev when it ends, is full,
//     or its piece is complete.
//  4. A complete piece goes to the hashers (hash.go) on hashq; they hash it
//     through the storage's read-only mapping and send the verdict back on
//     hashed.
//  5. pieceDone marks a good piece had and queues a Have message to every
//     peer (the writers send it); a bad one is downloaded again and its
//     senders are judged (judge.go).
//
// Addresses to dial come from trackers (announce.go), peer exchange
// (pex.go), the command line and the magnet link, and incoming peers; all
// go into one address book (book.go), tagged with their source.
package session
