/// Rows of cells in aligned columns, two spaces apart; the last column is not padded.
public enum TextTable {
    /// - Parameters:
    ///   - indent: put before every line.
    ///   - width: lines longer than this are cut, with `…`.
    public static func render(_ rows: [[String]], indent: String = "", width: Int = .max) -> String {
        guard let first = rows.first else { return "" }
        var widths = [Int](repeating: 0, count: first.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < row.count - 1 && index < widths.count {
                widths[index] = max(widths[index], cell.count)
            }
        }
        var out = ""
        for row in rows {
            var line = indent
            for (index, cell) in row.enumerated() {
                if index == row.count - 1 || index >= widths.count {
                    line += cell
                } else {
                    line += cell + String(repeating: " ", count: widths[index] - cell.count + 2)
                }
            }
            if line.count > width { line = String(line.prefix(width - 1)) + "…" }
            out += line + "\n"
        }
        return out
    }
}
