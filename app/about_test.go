package app

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/segvolapp/segvol/assets"
	"github.com/segvolapp/segvol/viewer"
)

// TestAboutShowsVersionAndLicenses opens Help > About on the real main
// window and checks the version line and one license section per component.
func TestAboutShowsVersionAndLicenses(t *testing.T) {
	v := newViewer(t, newTestApp(t), Options{})
	menus := v.Window().MainMenu().Items
	help := menus[len(menus)-1]
	if help.Label != "Help" || help.Items[0].Label != "About SegVol" {
		t.Fatalf("last menu %q, first item %q", help.Label, help.Items[0].Label)
	}
	help.Items[0].Action()

	c := aboutContent(fyne.AppMetadata{ID: "app.segvol.viewer", Version: "0.1.0", Build: 1})
	border := c.(*fyne.Container)
	var head *widget.Label
	var acc *widget.Accordion
	for _, o := range border.Objects {
		switch o := o.(type) {
		case *widget.Label:
			head = o
		case *container.Scroll:
			acc = o.Content.(*widget.Accordion)
		}
	}
	if head == nil || !strings.Contains(head.Text, "SegVol 0.1.0 (build 1,") {
		t.Fatalf("version line missing: %v", head)
	}
	if len(acc.Items) != len(assets.Bundled) {
		t.Fatalf("%d license sections for %d components", len(acc.Items), len(assets.Bundled))
	}
	for i, it := range acc.Items {
		if text := it.Detail.(*widget.Label).Text; !strings.Contains(it.Title, assets.Bundled[i].License) || len(text) < 200 {
			t.Errorf("section %q: %d bytes of license text", it.Title, len(text))
		}
	}
	if got := versionText(fyne.AppMetadata{Version: "0.0.1", Build: 1}); !strings.Contains(got, "development build") {
		t.Errorf("without metadata: %q", got)
	}
}

// Help > Keyboard and mouse lists every tool's key and the navigation.
func TestBindingsListed(t *testing.T) {
	v := newViewer(t, newTestApp(t), Options{})
	menus := v.Window().MainMenu().Items
	help := menus[len(menus)-1]
	if len(help.Items) < 2 || help.Items[1].Label != "Keyboard and mouse" {
		t.Fatalf("Help menu %v", help.Items)
	}
	help.Items[1].Action()
	if top := v.Window().Canvas().Overlays().Top(); top == nil {
		t.Fatal("no dialog")
	}
	listed := map[string]string{}
	objs := bindingsTable().Objects
	for i := 0; i+1 < len(objs); i += 2 {
		listed[objs[i].(*widget.Label).Text] = objs[i+1].(*widget.Label).Text
	}
	for _, tool := range viewer.Tools {
		key := strings.ToUpper(string(tool.Key()))
		if got := listed[key]; !strings.Contains(got, tool.String()) {
			t.Errorf("key %s: %q, want the %s tool", key, got, tool)
		}
	}
	for _, want := range []string{"R", "Enter", "Esc", "Ctrl+wheel"} {
		if listed[want] == "" {
			t.Errorf("%s is not listed", want)
		}
	}
}

// Help > About and the first start say what the program is for; the
// notice shows once, and is remembered as read when closed.
func TestIntendedUseNotice(t *testing.T) {
	a := newTestApp(t)
	v := newViewer(t, a, Options{})
	var about string
	walk(aboutContent(fyne.AppMetadata{}), func(o fyne.CanvasObject) {
		if l, ok := o.(*widget.Label); ok {
			about += l.Text
		}
	})
	if !strings.Contains(about, "not a medical device") || !strings.Contains(about, "research") {
		t.Errorf("About says %q", about)
	}
	v.FirstStartNotice()
	if txt := shownText(v); !strings.Contains(txt, "not a medical device") || !strings.Contains(txt, "not for diagnosis") {
		t.Fatalf("first start shows %q", txt)
	}
	var ok *widget.Button
	walk(v.win.Canvas().Overlays().Top().(*widget.PopUp).Content, func(o fyne.CanvasObject) {
		if b, is := o.(*widget.Button); is && b.Text == "I understand" {
			ok = b
		}
	})
	if ok == nil {
		t.Fatal("no button to close the notice")
	}
	test.Tap(ok)
	if !a.Preferences().Bool(noticeKey) {
		t.Fatal("closing the notice was not remembered")
	}
	w := newViewer(t, a, Options{})
	w.FirstStartNotice()
	if w.win.Canvas().Overlays().Top() != nil {
		t.Errorf("the notice showed again: %q", shownText(w))
	}

	// Enter closes it as its button does (it took no key at start-up).
	b := newTestApp(t)
	u := newViewer(t, b, Options{})
	u.FirstStartNotice()
	u.win.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if u.win.Canvas().Overlays().Top() != nil || !b.Preferences().Bool(noticeKey) {
		t.Errorf("Enter left the notice up (%v) or not remembered as read (%v)", u.win.Canvas().Overlays().Top() != nil, b.Preferences().Bool(noticeKey))
	}
}
