package metainfo

import (
	"errors"
	"fmt"
	"strings"
)

// EncodeTorrent builds a .torrent file around info, a raw bencoded info
// dictionary as received from peers (BEP 9), spliced in byte for byte so
// the info hash is unchanged. announce is the first URL of the first tier;
// announce-list is written when there is more than one URL in all (BEP 12);
// url-list holds the web seeds (BEP 19). Empty tiers and URLs are left out.
// info must pass ParseInfo, so a saved torrent always loads again.
func EncodeTorrent(info []byte, trackers [][]string, webSeeds []string) ([]byte, error) {
	if len(info) > MaxTorrentSize {
		return nil, fmt.Errorf("metainfo: encode torrent: info larger than %d bytes", MaxTorrentSize)
	}
	if _, err := ParseInfo(info); err != nil {
		return nil, encodeError(err, "metainfo: ")
	}
	b, err := encodeTorrent(info, BuildOptions{Announce: trackers, URLList: webSeeds})
	if err != nil {
		return nil, encodeError(err, "metainfo: build: ")
	}
	return b, nil
}

// encodeError renames an error of ParseInfo or encodeTorrent, which starts
// with prefix, as one of EncodeTorrent.
func encodeError(err error, prefix string) error {
	return errors.New("metainfo: encode torrent: " + strings.TrimPrefix(err.Error(), prefix))
}
