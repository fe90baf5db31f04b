package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/segvolapp/segvol/viewer/dicomweb"
)

const pacsUsage = `  pacs find --server URL [--patient NAME] [--patient-id ID] [--accession N] [--study-date FROM-TO]
            [--modality M] [--limit N] [--study UID] [--json]
                                          search a DICOMweb PACS (QIDO-RS; * and ? wildcards); with --study, list its series
  pacs get --server URL --study UID [--series UID] --out DIR
                                          retrieve series (WADO-RS, as stored) into DIR/<study>/<series>/
  pacs send --server URL [--study UID] FILE.dcm...
                                          store DICOM files (a SEG) with STOW-RS
        every pacs command: [--user U] [--auth none|basic|bearer] [--ca CA.pem]; the password (basic) is read from
        SEGVOL_PACS_PASSWORD and a bearer token from SEGVOL_PACS_TOKEN, never from the command line
`

func cmdPACS(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: segvol pacs find|get|send ...", errUsage)
	}
	switch args[0] {
	case "find":
		return pacsFind(ctx, args[1:], stdout)
	case "get":
		return pacsGet(ctx, args[1:], stdout, stderr)
	case "send":
		return pacsSend(ctx, args[1:], stdout)
	}
	return fmt.Errorf("%w: unknown pacs command %q (find, get or send)", errUsage, args[0])
}

// serverFlags are the connection flags every pacs command takes.
type serverFlags struct{ url, user, auth, ca *string }

func addServerFlags(fs *flag.FlagSet) serverFlags {
	return serverFlags{
		url:  fs.String("server", "", "DICOMweb base URL"),
		user: fs.String("user", "", "user name (basic authentication)"),
		auth: fs.String("auth", "", "none, basic or bearer (default: basic with --user, bearer with SEGVOL_PACS_TOKEN set)"),
		ca:   fs.String("ca", "", "PEM file of extra certificate authorities"),
	}
}

// client makes the client, with the secret from the environment.
func (f serverFlags) client() (*dicomweb.Client, error) {
	if *f.url == "" {
		return nil, fmt.Errorf("%w: --server URL is required", errUsage)
	}
	srv := dicomweb.Server{URL: *f.url, User: *f.user, CAFile: *f.ca}
	auth := *f.auth
	if auth == "" {
		switch {
		case *f.user != "":
			auth = "basic"
		case os.Getenv("SEGVOL_PACS_TOKEN") != "":
			auth = "bearer"
		}
	}
	var err error
	if srv.Auth, err = dicomweb.ParseAuth(auth); err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	switch srv.Auth {
	case dicomweb.AuthBasic:
		if srv.Secret = os.Getenv("SEGVOL_PACS_PASSWORD"); srv.Secret == "" {
			return nil, fmt.Errorf("%w: basic authentication: set the password in SEGVOL_PACS_PASSWORD", errUsage)
		}
	case dicomweb.AuthBearer:
		if srv.Secret = os.Getenv("SEGVOL_PACS_TOKEN"); srv.Secret == "" {
			return nil, fmt.Errorf("%w: bearer authentication: set the token in SEGVOL_PACS_TOKEN", errUsage)
		}
	}
	return dicomweb.New(srv, dicomweb.DefaultLimits)
}

func pacsFind(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("pacs find", flag.ContinueOnError)
	sf := addServerFlags(fs)
	var q dicomweb.StudyQuery
	fs.StringVar(&q.PatientName, "patient", "", "patient name (wildcards * and ?)")
	fs.StringVar(&q.PatientID, "patient-id", "", "patient ID")
	fs.StringVar(&q.AccessionNumber, "accession", "", "accession number")
	fs.StringVar(&q.StudyDate, "study-date", "", "YYYYMMDD or FROM-TO (either end may be left open)")
	fs.StringVar(&q.Modality, "modality", "", "modality in the study (CT, MR...)")
	fs.IntVar(&q.Limit, "limit", 0, "most studies to list")
	study := fs.String("study", "", "list the series of this study")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return fmt.Errorf("%w: unexpected %q", errUsage, pos[0])
	}
	q.StudyDate = strings.ReplaceAll(q.StudyDate, "/", "")
	c, err := sf.client()
	if err != nil {
		return err
	}
	if *study != "" {
		series, err := c.SearchSeries(ctx, *study, q.Modality)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(stdout, series)
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NUMBER\tMODALITY\tIMAGES\tDESCRIPTION\tSERIES UID")
		for _, s := range series {
			fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\n", s.Number, s.Modality, s.Instances, s.Description, s.SeriesInstanceUID)
		}
		return tw.Flush()
	}
	studies, err := c.SearchStudies(ctx, q)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, studies)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DATE\tPATIENT\tPATIENT ID\tACCESSION\tMODALITIES\tSERIES\tDESCRIPTION\tSTUDY UID")
	for _, s := range studies {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", s.StudyDate, s.PatientName, s.PatientID, s.AccessionNumber,
			strings.Join(s.Modalities, ","), s.Series, s.Description, s.StudyInstanceUID)
	}
	return tw.Flush()
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func pacsGet(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("pacs get", flag.ContinueOnError)
	sf := addServerFlags(fs)
	study := fs.String("study", "", "StudyInstanceUID")
	series := fs.String("series", "", "SeriesInstanceUID (default: every series of the study)")
	out := fs.String("out", "", "folder to write into")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 || *study == "" || *out == "" {
		return usageError("segvol pacs get --server URL --study UID [--series UID] --out DIR", pos, 0)
	}
	c, err := sf.client()
	if err != nil {
		return err
	}
	all, err := c.SearchSeries(ctx, *study, "")
	if err != nil {
		return err
	}
	var want []dicomweb.Series
	for _, s := range all {
		if *series == "" || s.SeriesInstanceUID == *series {
			want = append(want, s)
		}
	}
	if len(want) == 0 {
		if *series != "" {
			return fmt.Errorf("the PACS has no series %s in study %s", *series, *study)
		}
		return fmt.Errorf("the PACS has no series in study %s", *study)
	}
	// The output folder is a cache without a size limit: each series
	// appears whole or not at all.
	dst := &dicomweb.Cache{Dir: *out}
	for _, s := range want {
		dir, err := dst.Get(ctx, c, *study, s.SeriesInstanceUID, s.Instances, nil)
		if err != nil {
			return fmt.Errorf("series %s: %w", s.SeriesInstanceUID, err)
		}
		fmt.Fprintf(stdout, "%s\t%s %d images\n", dir, s.Modality, s.Instances)
	}
	return nil
}

func pacsSend(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("pacs send", flag.ContinueOnError)
	sf := addServerFlags(fs)
	study := fs.String("study", "", "store into this study (the server refuses files of another)")
	files, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("%w: segvol pacs send --server URL FILE.dcm...", errUsage)
	}
	c, err := sf.client()
	if err != nil {
		return err
	}
	res, err := c.Store(ctx, *study, files...)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "stored %d of %d files\n", len(res.Stored), len(files))
	return nil
}
