// Command refregistry is the test registry with the OCI 1.1 referrers API: go-containerregistry's
// in-memory pkg/registry with registry.WithReferrersSupport(true), on a loopback address.
// (`crane registry serve` serves the same package with the API left off.)
//
// It writes one JSON line per request to stderr, {"method","uri","status"}, before answering, so
// tests can see which calls a client made. Storage is memory: every start is empty.
//
// One correction on top of pkg/registry v0.22.1: its referrers listing takes a descriptor's
// artifactType from config.mediaType only, while the distribution spec wants the manifest's
// artifactType first (registries such as distribution v3 and zot do that). A bundle referrer
// (empty config) would be listed as application/vnd.oci.empty.v1+json. The listing is rewritten
// with each manifest's own artifactType, and sorted by digest (pkg/registry's order is random).
//
// Facts tests rely on: a single-request monolithic upload (POST /v2/<name>/blobs/uploads/?digest=
// with the blob as body) is honoured with 201; manifest PUTs answer no OCI-Subject header, so a
// client learns of the API only from GET /v2/<name>/referrers/<digest>; that GET answers 404
// NAME_UNKNOWN for a repository with no manifests; the artifactType filter is not applied.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// logged writes the request's line when the status is known, before any of the response is
// sent: a client that has its answer finds the line in the log already.
type logged struct {
	http.ResponseWriter
	req  *http.Request
	log  *log.Logger
	done bool
}

func (l *logged) WriteHeader(status int) {
	if !l.done {
		l.done = true
		line, _ := json.Marshal(map[string]any{
			"method": l.req.Method, "uri": l.req.URL.RequestURI(), "status": status,
		})
		l.log.Print(string(line))
	}
	l.ResponseWriter.WriteHeader(status)
}

func (l *logged) Write(b []byte) (int, error) {
	if !l.done {
		l.WriteHeader(http.StatusOK)
	}
	return l.ResponseWriter.Write(b)
}

// withArtifactTypes answers GET .../referrers/<digest> from inner, each descriptor's artifactType
// taken from its manifest when the manifest has one.
func withArtifactTypes(inner http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(r.URL.Path, "/")
		if r.Method != http.MethodGet || len(parts) < 5 || parts[len(parts)-2] != "referrers" {
			inner.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		inner.ServeHTTP(rec, r)
		index, err := v1.ParseIndexManifest(bytes.NewReader(rec.Body.Bytes()))
		if rec.Code != http.StatusOK || err != nil {
			copyResponse(w, rec)
			return
		}
		repo := strings.Join(parts[2:len(parts)-2], "/")
		for i, desc := range index.Manifests {
			get := httptest.NewRequest(http.MethodGet, "/v2/"+repo+"/manifests/"+desc.Digest.String(), nil)
			got := httptest.NewRecorder()
			inner.ServeHTTP(got, get)
			var m struct {
				ArtifactType string `json:"artifactType"`
			}
			if got.Code == http.StatusOK && json.Unmarshal(got.Body.Bytes(), &m) == nil && m.ArtifactType != "" {
				index.Manifests[i].ArtifactType = m.ArtifactType
			}
		}
		sort.Slice(index.Manifests, func(i, j int) bool {
			return index.Manifests[i].Digest.String() < index.Manifests[j].Digest.String()
		})
		body, err := json.Marshal(index)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		rec.Body = bytes.NewBuffer(body)
		rec.Header().Set("Content-Length", fmt.Sprint(len(body)))
		copyResponse(w, rec)
	})
}

func copyResponse(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for name, values := range rec.Header() {
		w.Header()[name] = values
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}

func main() {
	addr := flag.String("addr", "127.0.0.1:5000", "address to listen on")
	flag.Parse()
	requests := log.New(os.Stderr, "", 0)
	handler := withArtifactTypes(registry.New(
		registry.WithReferrersSupport(true),
		registry.Logger(log.New(io.Discard, "", 0)), // one line per request is ours, below
	))
	serve := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l := &logged{ResponseWriter: w, req: r, log: requests}
		handler.ServeHTTP(l, r)
		if !l.done {
			l.WriteHeader(http.StatusOK)
		}
	})
	listener, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "refregistry: serving the referrers API on %s\n", listener.Addr())
	log.Fatal(http.Serve(listener, serve))
}
