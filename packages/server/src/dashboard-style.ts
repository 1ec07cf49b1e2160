/** The dashboard's stylesheet, served as `/dashboard.css` (no inline style under its CSP). */
export const dashboardStyle = `body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f6f7f9; }
header { background: #1d2330; color: #fff; padding: 12px 20px; display: flex; gap: 12px; align-items: center; }
header h1 { font-size: 16px; margin: 0 16px 0 0; }
header input { width: 340px; padding: 4px 8px; }
main { padding: 16px 20px; display: grid; grid-template-columns: minmax(320px, 1fr) 2fr; gap: 20px; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #e3e6eb; vertical-align: top; }
tr.session { cursor: pointer; } tr.session:hover, tr.selected { background: #eef3ff; }
tr.blocked td { background: #fdecec; } tr.error td { background: #fff6e0; }
.bar { height: 6px; background: #e3e6eb; border-radius: 3px; margin-top: 4px; }
.bar span { display: block; height: 100%; background: #3b7bf6; border-radius: 3px; }
.bar span.hot { background: #d9534f; }
.tag { font-weight: 600; } .tag.BLOCKED { color: #c0392b; } .tag.ERROR { color: #b7791f; } .tag.OK { color: #2f855a; }
#status { margin-left: auto; font-size: 12px; opacity: .8; }
.muted { color: #6b7280; font-size: 12px; }
section.wide { grid-column: 1 / -1; } #approver { margin-bottom: 8px; padding: 4px 8px; width: 260px; }
tr.approval button { margin-right: 6px; }
`
