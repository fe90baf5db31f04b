package viewer

// Tool is what the left mouse button does in a slice view.
type Tool uint8

// The tools of the tool bar.
const (
	ToolNavigate Tool = iota // move the crosshair
	ToolPositive             // a click on the target
	ToolNegative             // a click on what is not the target
	ToolBox                  // a drag around the target (in two views for its depth)
	ToolText                 // a structure named from the category list
	ToolBrush                // paint the active segment
	ToolEraser               // erase unlocked segments
	ToolFill                 // flood the active segment within an intensity range
	ToolRuler                // a drag measures a distance
	ToolAngle                // three clicks measure an angle at the middle one
	ToolEllipse              // a drag measures the voxels inside an ellipse
)

// Tools lists the tools in tool bar order.
var Tools = []Tool{ToolNavigate, ToolPositive, ToolNegative, ToolBox, ToolText, ToolBrush, ToolEraser, ToolFill, ToolRuler, ToolAngle, ToolEllipse}

var toolInfo = [...]struct {
	name string
	key  rune
}{
	ToolNavigate: {"Navigate", 'n'},
	ToolPositive: {"Positive point", 'p'},
	ToolNegative: {"Negative point", 'm'},
	ToolBox:      {"Box", 'b'},
	ToolText:     {"Structure name", 't'},
	ToolBrush:    {"Brush", 'd'},
	ToolEraser:   {"Eraser", 'e'},
	ToolFill:     {"3D fill", 'f'},
	ToolRuler:    {"Ruler", 'l'},
	ToolAngle:    {"Angle", 'a'},
	ToolEllipse:  {"Ellipse statistics", 'o'},
}

func (t Tool) String() string { return toolInfo[t].name }

// Key is the tool's keyboard shortcut (a lower-case letter).
func (t Tool) Key() rune { return toolInfo[t].key }

// ToolForKey is the tool of shortcut r, either case.
func ToolForKey(r rune) (Tool, bool) {
	if r >= 'A' && r <= 'Z' {
		r += 'a' - 'A'
	}
	for _, t := range Tools {
		if t.Key() == r {
			return t, true
		}
	}
	return 0, false
}

// Prompting reports whether the tool places AI prompts.
func (t Tool) Prompting() bool { return t >= ToolPositive && t <= ToolText }

// Painting reports whether the tool edits voxels by dragging.
func (t Tool) Painting() bool { return t == ToolBrush || t == ToolEraser }
