package generator

import (
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// sourceIndex reads the Go source of the k8s.io packages behind the reflected types. Reflection
// sees json tags but not comments, and Kubernetes keeps part of its schema in comment markers
// (+optional, +listType=map, +enum, +structType=atomic, +default=...): openapi-gen reads them
// from source, so the generator must too or its documents would differ from a real server's.
type sourceIndex struct {
	pkgs map[string]*pkgSource
}

type pkgSource struct {
	typeDoc  map[string][]string            // type name -> doc comment lines
	fieldDoc map[string]map[string][]string // type name -> Go field name -> doc comment lines
	consts   map[string][]constValue        // type name -> string constants of that type
}

type constValue struct {
	name  string
	value string
	doc   []string
}

func newSourceIndex() *sourceIndex { return &sourceIndex{pkgs: map[string]*pkgSource{}} }

// pkg returns the parsed comments of the package at importPath, loading it on first use.
func (s *sourceIndex) pkg(importPath string) (*pkgSource, error) {
	if p, ok := s.pkgs[importPath]; ok {
		return p, nil
	}
	// go list resolves the directory through the module cache exactly as the build does, so
	// the comments read here belong to the same k8s.io/api version that is compiled in.
	out, err := exec.Command("go", "list", "-f", "{{.Dir}}", importPath).Output()
	if err != nil {
		return nil, fmt.Errorf("cannot locate source of %s: %w", importPath, err)
	}
	dir := strings.TrimSpace(string(out))
	p, err := parsePackage(dir)
	if err != nil {
		return nil, fmt.Errorf("cannot parse source of %s: %w", importPath, err)
	}
	s.pkgs[importPath] = p
	return p, nil
}

func parsePackage(dir string) (*pkgSource, error) {
	matches, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	sort.Strings(matches)
	p := &pkgSource{
		typeDoc:  map[string][]string{},
		fieldDoc: map[string]map[string][]string{},
		consts:   map[string][]constValue{},
	}
	fset := token.NewFileSet()
	for _, path := range matches {
		name := filepath.Base(path)
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		// Build constraints matter: FieldsV1 has two definitions selected by build tags.
		if ok, err := build.Default.MatchFile(dir, name); err != nil || !ok {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok {
				continue
			}
			switch gd.Tok {
			case token.TYPE:
				for _, spec := range gd.Specs {
					ts := spec.(*ast.TypeSpec)
					doc := ts.Doc
					if doc == nil && len(gd.Specs) == 1 {
						doc = gd.Doc
					}
					p.typeDoc[ts.Name.Name] = commentLines(doc)
					if st, ok := ts.Type.(*ast.StructType); ok {
						fields := map[string][]string{}
						for _, fld := range st.Fields.List {
							lines := commentLines(fld.Doc)
							if len(fld.Names) == 0 {
								fields[embeddedName(fld.Type)] = lines
							}
							for _, n := range fld.Names {
								fields[n.Name] = lines
							}
						}
						p.fieldDoc[ts.Name.Name] = fields
					}
				}
			case token.CONST:
				for _, spec := range gd.Specs {
					vs := spec.(*ast.ValueSpec)
					typ, ok := vs.Type.(*ast.Ident)
					if !ok || len(vs.Values) != len(vs.Names) {
						continue
					}
					doc := vs.Doc
					if doc == nil && len(gd.Specs) == 1 {
						doc = gd.Doc
					}
					for i, n := range vs.Names {
						lit, ok := vs.Values[i].(*ast.BasicLit)
						if !ok || lit.Kind != token.STRING {
							continue
						}
						v, err := strconv.Unquote(lit.Value)
						if err != nil {
							continue
						}
						p.consts[typ.Name] = append(p.consts[typ.Name], constValue{name: n.Name, value: v, doc: commentLines(doc)})
					}
				}
			}
		}
	}
	return p, nil
}

func embeddedName(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.Ident:
		return t.Name
	case *ast.StarExpr:
		return embeddedName(t.X)
	case *ast.SelectorExpr:
		return t.Sel.Name
	}
	return ""
}

// commentLines returns the text of a comment group, one entry per line, without the comment
// markers. Unlike ast.CommentGroup.Text it keeps lines that look like directives.
func commentLines(g *ast.CommentGroup) []string {
	if g == nil {
		return nil
	}
	var lines []string
	for _, c := range g.List {
		text := c.Text
		switch {
		case strings.HasPrefix(text, "//"):
			text = strings.TrimPrefix(text, "//")
			text = strings.TrimPrefix(text, " ")
			lines = append(lines, text)
		case strings.HasPrefix(text, "/*"):
			text = strings.TrimSuffix(strings.TrimPrefix(text, "/*"), "*/")
			lines = append(lines, strings.Split(text, "\n")...)
		}
	}
	return lines
}

// markers extracts the "+key=value" and "+key" generator markers of a comment.
func markers(lines []string) map[string][]string {
	m := map[string][]string{}
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if !strings.HasPrefix(l, "+") {
			continue
		}
		l = l[1:]
		key, value, _ := strings.Cut(l, "=")
		key = strings.TrimSpace(key)
		if key == "" || strings.ContainsAny(key, " \t") {
			continue
		}
		m[key] = append(m[key], strings.TrimSpace(value))
	}
	return m
}

// docText turns a Go doc comment into a description the way the Kubernetes swagger-doc
// generator does: lines of a paragraph joined by spaces, paragraphs by a blank line,
// indented lines kept on their own line, generator markers and TODOs dropped, and
// everything after a "---" line ignored.
func docText(lines []string) string {
	var b strings.Builder
	dropLast := func() {
		s := b.String()
		if len(s) > 0 {
			b.Reset()
			b.WriteString(s[:len(s)-1])
		}
	}
	for _, line := range lines {
		if strings.HasPrefix(strings.TrimSpace(line), "---") {
			break
		}
		line = strings.TrimRight(line, " \t")
		lead := strings.TrimLeft(line, " \t")
		switch {
		case line == "":
			dropLast()
			b.WriteString("\n\n")
		case strings.HasPrefix(lead, "TODO"), strings.HasPrefix(lead, "+"):
		case strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t"):
			dropLast()
			b.WriteString("\n" + line + "\n")
		default:
			b.WriteString(line + " ")
		}
	}
	return strings.TrimSpace(b.String())
}
