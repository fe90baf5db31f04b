package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/segvolapp/segvol/internal/orthanctest"
	"github.com/segvolapp/segvol/viewer/dicomweb"
	"github.com/segvolapp/segvol/viewer/nifti"
	"github.com/segvolapp/segvol/viewer/volume"
)

const ct3Study = "1.2.392.200103.20080913.113635.0.2009.6.22.21.43.10.22941.1"

var ct3Dir = filepath.Join("..", "..", "testdata", "dcmqi_ct3slice_seg", "ct-3slice")

func runSegvol(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	status := run(args, &stdout, &stderr)
	return stdout.String(), stderr.String(), status
}

// TestPACSFindGetSend is a script's round trip against a real Orthanc with
// basic authentication: find the study by a wildcard name, get its series,
// write a SEG on it with export-seg, send it, and find it in the study.
func TestPACSFindGetSend(t *testing.T) {
	o := orthanctest.Start(t, orthanctest.Options{Auth: true})
	files, _ := filepath.Glob(filepath.Join(ct3Dir, "*.dcm"))
	o.Upload(t, files...)
	srv := []string{"--server", o.DICOMweb, "--user", orthanctest.User}

	// No password in the environment: a usage error, before any request.
	t.Setenv("SEGVOL_PACS_PASSWORD", "")
	if _, stderr, st := runSegvol(t, append([]string{"pacs", "find"}, srv...)...); st != 2 || !strings.Contains(stderr, "SEGVOL_PACS_PASSWORD") {
		t.Fatalf("without password: status %d, %q", st, stderr)
	}
	t.Setenv("SEGVOL_PACS_PASSWORD", "wrong")
	if _, stderr, st := runSegvol(t, append([]string{"pacs", "find"}, srv...)...); st != 1 || !strings.Contains(stderr, "401") {
		t.Fatalf("wrong password: status %d, %q", st, stderr)
	}
	t.Setenv("SEGVOL_PACS_PASSWORD", orthanctest.Password)

	out, stderr, st := runSegvol(t, append([]string{"pacs", "find", "--patient", "JAN*", "--study-date", "20030101-20031231", "--modality", "CT", "--json"}, srv...)...)
	if st != 0 {
		t.Fatalf("find: %s", stderr)
	}
	var studies []dicomweb.Study
	if err := json.Unmarshal([]byte(out), &studies); err != nil || len(studies) != 1 || studies[0].StudyInstanceUID != ct3Study || studies[0].PatientName != "JANCT000" {
		t.Fatalf("find --json: %v %s", err, out)
	}
	out, _, _ = runSegvol(t, append([]string{"pacs", "find", "--patient", "NOBODY"}, srv...)...)
	if strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Fatalf("a search with no match printed rows: %q", out)
	}

	dir := t.TempDir()
	out, stderr, st = runSegvol(t, append([]string{"pacs", "get", "--study", ct3Study, "--out", dir}, srv...)...)
	if st != 0 {
		t.Fatalf("get: %s", stderr)
	}
	seriesDir := strings.Fields(out)[0]
	img := loadDICOM(t, seriesDir)
	disk := loadDICOM(t, ct3Dir)
	if img.Dims != disk.Dims || img.Geom != disk.Geom || !reflect.DeepEqual(img.Data, disk.Data) {
		t.Fatal("the retrieved series differs from the files uploaded")
	}

	lab, _ := volume.New(volume.Uint8, img.Dims, img.Geom)
	for i := range lab.Data.([]uint8) {
		if img.Value(i) > 300 {
			lab.Data.([]uint8)[i] = 1
		}
	}
	labPath, segPath := filepath.Join(dir, "bone.nii.gz"), filepath.Join(dir, "bone.dcm")
	if err := nifti.Write(labPath, lab); err != nil {
		t.Fatal(err)
	}
	if _, stderr, st := runSegvol(t, "export-seg", "--image", seriesDir, "--labels", labPath, "--out", segPath); st != 0 {
		t.Fatal(stderr)
	}
	out, stderr, st = runSegvol(t, append([]string{"pacs", "send", "--study", ct3Study, segPath}, srv...)...)
	if st != 0 || !strings.Contains(out, "stored 1 of 1") {
		t.Fatalf("send: %d %q %q", st, out, stderr)
	}
	out, stderr, st = runSegvol(t, append([]string{"pacs", "find", "--study", ct3Study, "--modality", "SEG", "--json"}, srv...)...)
	var series []dicomweb.Series
	if err := json.Unmarshal([]byte(out), &series); err != nil || st != 0 || len(series) != 1 || series[0].Modality != "SEG" {
		t.Fatalf("find the SEG: %v %q %q", err, out, stderr)
	}
}

// TestPACSBearerToken: a script against a server that takes a bearer token
// only, the token from SEGVOL_PACS_TOKEN (the default authentication when it
// is set): refused in words with a wrong token, found and retrieved with the
// right one.
func TestPACSBearerToken(t *testing.T) {
	o := orthanctest.Start(t, orthanctest.Options{Bearer: true})
	files, _ := filepath.Glob(filepath.Join(ct3Dir, "*.dcm"))
	o.Upload(t, files...)
	t.Setenv("SEGVOL_PACS_PASSWORD", "")
	t.Setenv("SEGVOL_PACS_TOKEN", orthanctest.Token+"x")
	if _, stderr, st := runSegvol(t, "pacs", "find", "--server", o.DICOMweb); st != 1 || !strings.Contains(stderr, "403") || !strings.Contains(stderr, "refused") {
		t.Fatalf("wrong token: status %d, %q", st, stderr)
	}
	t.Setenv("SEGVOL_PACS_TOKEN", orthanctest.Token)
	out, stderr, st := runSegvol(t, "pacs", "find", "--server", o.DICOMweb, "--json")
	var studies []dicomweb.Study
	if st != 0 || json.Unmarshal([]byte(out), &studies) != nil || len(studies) != 1 || studies[0].StudyInstanceUID != ct3Study {
		t.Fatalf("find with the token: status %d, %q %q", st, out, stderr)
	}
	out, stderr, st = runSegvol(t, "pacs", "get", "--server", o.DICOMweb, "--study", ct3Study, "--out", t.TempDir())
	if st != 0 {
		t.Fatalf("get with the token: %s", stderr)
	}
	if img := loadDICOM(t, strings.Fields(out)[0]); img.Dims != loadDICOM(t, ct3Dir).Dims {
		t.Fatalf("retrieved %v", img.Dims)
	}
}

// TestPACSUsage: mistakes in the command line say what is expected.
func TestPACSUsage(t *testing.T) {
	for _, args := range [][]string{
		{"pacs"},
		{"pacs", "move"},
		{"pacs", "find"},
		{"pacs", "get", "--server", "http://127.0.0.1:1"},
		{"pacs", "send", "--server", "http://127.0.0.1:1"},
		{"pacs", "find", "--server", "http://127.0.0.1:1", "--auth", "kerberos"},
		{"pacs", "find", "--server", "http://127.0.0.1:1", "--auth", "bearer"},
	} {
		t.Setenv("SEGVOL_PACS_TOKEN", "")
		if _, stderr, st := runSegvol(t, args...); st != 2 || stderr == "" {
			t.Errorf("%v: status %d, %q", args, st, stderr)
		}
	}
	_, stderr, st := runSegvol(t, "pacs", "find", "--server", "http://127.0.0.1:1/dicom-web")
	if st != 1 || !strings.Contains(stderr, "cannot reach the PACS") {
		t.Errorf("server down: %d %q", st, stderr)
	}
}
