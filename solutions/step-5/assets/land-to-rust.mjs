// Converts Natural Earth's 1:110m land (from the npm package world-atlas 2.0.2, as TopoJSON) into
// solutions/step-5/src/coastline.rs: one SVG path, in degrees on an equirectangular map (x = longitude + 180,
// y = 90 - latitude), simplified to a tenth of a degree. Run once, by a maintainer, from a scratch folder:
//
//   cd /tmp/atlas && npm install world-atlas@2.0.2 topojson-client@3
//   node <repo>/solutions/step-5/assets/land-to-rust.mjs > <repo>/solutions/step-5/src/coastline.rs
//
// node_modules stays out of the repository; only the generated Rust file is kept.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(process.cwd() + "/");
const { feature } = require("topojson-client");
const topology = JSON.parse(readFileSync(require.resolve("world-atlas/land-110m.json"), "utf8"));
const land = feature(topology, topology.objects.land);

// Points closer than this to the last one kept (in degrees) are dropped: invisible at the heat map's scale.
const TOLERANCE = 0.3;
const round = (value) => Math.round(value * 10) / 10;

const rings = [];
for (const polygon of land.features.flatMap((f) =>
  f.geometry.type === "Polygon" ? [f.geometry.coordinates] : f.geometry.coordinates,
)) {
  for (const ring of polygon) {
    const kept = [];
    for (const [longitude, latitude] of ring) {
      const point = [round(longitude + 180), round(90 - latitude)];
      const last = kept[kept.length - 1];
      if (!last || Math.hypot(point[0] - last[0], point[1] - last[1]) >= TOLERANCE) kept.push(point);
    }
    if (kept.length < 3) continue;
    // A ring that crosses the antimeridian (Chukotka, Fiji) jumps from one edge of the map to the other: start a
    // new subpath there instead of drawing a line across the world.
    let path = "";
    kept.forEach(([x, y], index) => {
      const jump = index > 0 && Math.abs(x - kept[index - 1][0]) > 180;
      path += `${index === 0 || jump ? "M" : "L"}${x} ${y}`;
    });
    rings.push(path + "Z");
  }
}

const lines = rings.map((ring) => `    "${ring}",`).join("\n");
process.stdout.write(`//! The world's land, drawn under the heat map's cells.
//!
//! Generated once by \`assets/land-to-rust.mjs\` from Natural Earth's 1:110m land (public domain; "Made with
//! Natural Earth", naturalearthdata.com), as packaged in TopoJSON by the npm package world-atlas 2.0.2
//! (Mike Bostock, ISC licence). Do not edit by hand: run the script again.

/// Every land polygon as one SVG path, in degrees: x = longitude + 180 (0 to 360), y = 90 - latitude (0 to 180),
/// simplified to about a tenth of a degree.
pub const LAND_PATH: &str = concat!(
${lines}
);
`);
