//! The Jupyter renderings (`_repr_html_`) of `OrderBook`, `BookView`, `Depth` and
//! `LevelStats`: one depth table for the three depth-shaped objects, one field table for
//! level statistics. Text from outside (the symbol) is escaped; numbers are printed exactly.

use lft_engine::{DepthLevel, Scale};

use crate::convert::{price_text, quantity_text};

/// `s` with the five HTML-special characters escaped (safe in text and in quoted attributes).
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

/// One depth level's cells as text: order count, quantity, price.
pub(crate) struct LevelCells {
    pub orders: String,
    pub quantity: String,
    pub price: String,
}

impl LevelCells {
    pub(crate) fn new(scale: &Scale, level: &DepthLevel) -> Self {
        LevelCells {
            orders: level.order_count.to_string(),
            quantity: quantity_text(scale, level.quantity),
            price: price_text(scale, level.price),
        }
    }
}

/// A depth table: bids on the left, asks on the right, best level first; "empty" when both
/// sides are.
pub(crate) fn depth_table(bids: &[LevelCells], asks: &[LevelCells]) -> String {
    let mut html = String::from(
        "<table><tr><th>bid orders</th><th>bid qty</th><th>bid</th><th>ask</th><th>ask qty</th>\
         <th>ask orders</th></tr>",
    );
    let rows = bids.len().max(asks.len());
    for i in 0..rows {
        let b = bids.get(i);
        let a = asks.get(i);
        fn cell(v: Option<&String>) -> &str {
            v.map_or("", String::as_str)
        }
        html.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            cell(b.map(|l| &l.orders)),
            cell(b.map(|l| &l.quantity)),
            cell(b.map(|l| &l.price)),
            cell(a.map(|l| &l.price)),
            cell(a.map(|l| &l.quantity)),
            cell(a.map(|l| &l.orders)),
        ));
    }
    if rows == 0 {
        html.push_str("<tr><td colspan=\"6\"><i>empty</i></td></tr>");
    }
    html.push_str("</table>");
    html
}

/// A book's rendering (`OrderBook`, `BookView`): a title line with the symbol, the order
/// count, tick and lot size, then the depth table of `depth`'s levels.
pub(crate) fn book_html(
    kind: &str,
    symbol: &str,
    orders: usize,
    scale: &Scale,
    depth: &lft_engine::Depth,
) -> String {
    let cells = |levels: &[DepthLevel]| levels.iter().map(|l| LevelCells::new(scale, l)).collect::<Vec<_>>();
    format!(
        "<div><b>{kind} {}</b> &middot; {orders} orders &middot; tick {} &middot; lot {}{}</div>",
        escape(symbol),
        scale.tick_size,
        scale.lot_size,
        depth_table(&cells(&depth.bids), &cells(&depth.asks)),
    )
}

/// A two-column field/value table under a bold title (the title is escaped, the values
/// are not: callers pass numbers and enum names).
pub(crate) fn fields_html(title: &str, fields: &[(&str, String)]) -> String {
    let mut html = format!("<div><b>{}</b><table><tr><th>field</th><th>value</th></tr>", escape(title));
    for (name, value) in fields {
        html.push_str(&format!("<tr><td>{name}</td><td>{value}</td></tr>"));
    }
    html.push_str("</table></div>");
    html
}
