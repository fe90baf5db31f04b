package dicomweb

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// TestCacheEvictClear: the cache keeps to its size limit by dropping the
// series used longest ago (a cache hit counts as a use), never the one
// just retrieved, and Clear empties it.
func TestCacheEvictClear(t *testing.T) {
	const size = 1 << 20
	c := hostile(t, func(w http.ResponseWriter, r *http.Request) {
		mw := multipartWriter(w)
		part(mw)(dicomPart(size))
		mw.Close()
	})
	cache := &Cache{Dir: t.TempDir(), MaxBytes: 2*size + size/2}
	ctx := context.Background()
	// get retrieves a series and dates its last use age ago: folder
	// times are what eviction orders by, and some file systems keep them
	// to the second only.
	get := func(series string, age time.Duration) {
		t.Helper()
		if _, err := cache.Get(ctx, c, "1.2", series, 1, nil); err != nil {
			t.Fatal(err)
		}
		d, _ := cache.SeriesDir("1.2", series)
		used := time.Now().Add(-age)
		os.Chtimes(d, used, used)
	}
	get("1.2.1", 2*time.Hour)
	get("1.2.22", time.Hour)
	if n, _ := cache.Size(); n != 2*size {
		t.Fatalf("size %d", n)
	}
	// A hit makes 1.2.1 the most recently used, so 1.2.22 goes next.
	if _, err := cache.Get(ctx, nil, "1.2", "1.2.1", 1, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cache.Get(ctx, c, "1.2", "1.2.333", 1, nil); err != nil {
		t.Fatal(err)
	}
	for series, want := range map[string]bool{"1.2.1": true, "1.2.22": false, "1.2.333": true} {
		if cache.Has("1.2", series) != want {
			t.Errorf("series %s cached: %v, want %v", series, !want, want)
		}
	}
	// One series larger than the whole limit is still kept: it is the
	// one being opened.
	small := &Cache{Dir: cache.Dir, MaxBytes: size / 2}
	if _, err := small.Get(ctx, c, "1.2", "1.2.4444", 1, nil); err != nil || !small.Has("1.2", "1.2.4444") {
		t.Fatalf("the series being opened was evicted: %v", err)
	}
	if n, _ := small.Size(); n != size {
		t.Errorf("after eviction the cache holds %d bytes", n)
	}
	if _, err := cache.Get(ctx, nil, "1.2", "1.2.55555", 1, nil); err == nil || !strings.Contains(err.Error(), "not in the PACS cache") {
		t.Errorf("offline, a series not cached: %v", err)
	}
	if err := cache.Clear(); err != nil {
		t.Fatal(err)
	}
	if n, _ := cache.Size(); n != 0 || cache.Has("1.2", "1.2.4444") {
		t.Errorf("after Clear: %d bytes", n)
	}
}
