# SPDX-License-Identifier: Apache-2.0
"""Static word tables of the synthetic distributor: departments, categories, segments, names."""

from typing import NamedTuple


class CategorySpec(NamedTuple):
    """One product category: its department, price level, description words and seasonality."""

    name: str
    department: str
    median_price: float
    nouns: tuple[str, ...]
    attrs: tuple[str, ...]
    packs: tuple[str, ...]
    variants: tuple[str, ...]
    peak_month: int = 0
    season_amp: float = 0.0


def _c(name, dept, price, nouns, attrs, packs, variants, peak=0, amp=0.0) -> CategorySpec:
    return CategorySpec(
        name, dept, price, tuple(nouns.split(";")), tuple(attrs.split(";")), tuple(packs.split(";")),
        tuple(variants.split(";")), peak, amp,
    )


# fmt: off
CATEGORIES: tuple[CategorySpec, ...] = (
    _c("Surface Cleaners", "Cleaning", 6.5, "all-purpose cleaner;glass cleaner;degreaser;multi-surface spray", "concentrated;ready-to-use;fragrance-free;eco-certified", "750 ml spray;1 L bottle;5 L canister;case of 6", "lemon;pine;unscented;fresh linen"),
    _c("Floor Care", "Cleaning", 14.0, "floor cleaner;floor polish;mop refill;floor stripper", "low-foam;concentrated;anti-slip;quick-dry", "1 L bottle;5 L canister;10 L drum;pack of 2", "neutral;citrus;unscented;lavender"),
    _c("Hand Soap", "Cleaning", 8.0, "liquid hand soap;foam soap refill;hand sanitiser;soap dispenser", "antibacterial;moisturising;gentle;alcohol-based", "500 ml pump;1 L refill;5 L canister;case of 12", "aloe;unscented;citrus;ocean"),
    _c("Disinfectants", "Cleaning", 11.0, "disinfectant spray;sanitising wipes;bleach gel;virucidal cleaner", "hospital-grade;quick-acting;chlorine-free;food-safe", "750 ml spray;tub of 200;5 L canister;case of 6", "original;unscented;mint;citrus", 1, 0.25),
    _c("Cleaning Tools", "Cleaning", 9.0, "microfibre cloths;scrubbing sponges;mop bucket;squeegee;dustpan set", "colour-coded;reusable;heavy-duty;lint-free", "single;pack of 5;pack of 10;case of 50", "blue;red;green;yellow"),
    _c("Laundry", "Cleaning", 18.0, "laundry detergent;fabric softener;stain remover;laundry powder", "bio;non-bio;low-temperature;concentrated", "2 L bottle;5 L canister;10 kg sack;case of 4", "fresh;sensitive;mountain breeze;unscented"),
    _c("Paper Towels", "Disposables", 22.0, "paper towels;centrefeed rolls;folded hand towels;kitchen rolls", "2-ply;3-ply;recycled;extra-absorbent", "pack of 6;case of 12;case of 24;bale of 3000 sheets", "white;blue;natural;embossed"),
    _c("Toilet Tissue", "Disposables", 25.0, "toilet rolls;jumbo rolls;coreless rolls;interleaved tissue", "2-ply;3-ply;recycled;soft", "pack of 9;case of 36;case of 12 jumbo;case of 48", "white;natural;embossed;quilted"),
    _c("Napkins", "Disposables", 12.0, "paper napkins;cocktail napkins;dinner napkins;airlaid napkins", "2-ply;3-ply;compostable;linen-feel", "pack of 100;pack of 500;case of 2000;case of 3000", "white;black;bordeaux;kraft", 12, 0.3),
    _c("Disposable Cups", "Disposables", 15.0, "paper cups;plastic cups;cup lids;coffee cups", "double-wall;compostable;recyclable;insulated", "sleeve of 50;case of 500;case of 1000;pack of 100", "8 oz;12 oz;16 oz;white", 7, 0.25),
    _c("Disposable Cutlery", "Disposables", 10.0, "wooden forks;wooden spoons;cutlery kits;stirrers", "compostable;heavy-duty;wrapped;birch", "pack of 100;case of 1000;case of 2000;pack of 250", "natural;white;black;mixed"),
    _c("Food Containers", "Disposables", 18.0, "takeaway boxes;soup containers;clamshell boxes;deli pots", "microwave-safe;compostable;leak-proof;kraft", "pack of 50;case of 250;case of 500;sleeve of 25", "500 ml;750 ml;1 L;small"),
    _c("Trash Bags", "Disposables", 14.0, "bin liners;refuse sacks;compactor bags;recycling bags", "heavy-duty;drawstring;recycled;extra-strong", "roll of 20;box of 100;case of 200;roll of 50", "black;clear;blue;green"),
    _c("Gloves", "Safety", 12.0, "nitrile gloves;latex gloves;vinyl gloves;work gloves;cut-resistant gloves", "powder-free;heavy-duty;disposable;food-safe", "box of 100;box of 200;pack of 12 pairs;case of 1000", "blue;black;size M;size L;size XL"),
    _c("Masks", "Safety", 15.0, "FFP2 masks;surgical masks;dust masks;respirator filters", "valved;fluid-resistant;3-layer;foldable", "box of 20;box of 50;pack of 10;case of 600", "white;blue;black;small", 1, 0.35),
    _c("Workwear", "Safety", 35.0, "work trousers;hi-vis vest;fleece jacket;chef jacket;coverall", "breathable;water-resistant;flame-retardant;reinforced", "single;pack of 2;pack of 5;pack of 10", "size S;size M;size L;size XL;navy"),
    _c("Safety Footwear", "Safety", 65.0, "safety boots;safety shoes;kitchen clogs;wellington boots", "steel-toe;composite-toe;slip-resistant;waterproof", "pair;pair;pair;pair", "size 40;size 42;size 44;size 46;black"),
    _c("First Aid", "Safety", 25.0, "first aid kit;plasters;burn gel;eye wash station;bandages", "HSE-compliant;waterproof;detectable;sterile", "single;box of 100;pack of 10;refill kit", "small;medium;large;catering"),
    _c("Eye Protection", "Safety", 9.0, "safety glasses;goggles;face shield;over-spectacles", "anti-fog;scratch-resistant;UV-protective;vented", "single;pack of 10;box of 12;pack of 5", "clear;smoke;yellow;amber"),
    _c("Cookware", "Kitchen", 45.0, "stock pot;frying pan;sauce pan;gastronorm pan;roasting tray", "stainless steel;non-stick;induction-ready;heavy-gauge", "single;set of 3;set of 5;single", "20 cm;24 cm;28 cm;32 cm"),
    _c("Kitchen Utensils", "Kitchen", 12.0, "chef knife;ladle;tongs;whisk;spatula;chopping board", "stainless steel;heat-resistant;colour-coded;ergonomic", "single;set of 3;pack of 6;set of 6", "small;large;red;green;blue"),
    _c("Tableware", "Kitchen", 28.0, "dinner plates;side plates;soup bowls;coffee cups;saucers", "porcelain;stoneware;chip-resistant;stackable", "box of 6;box of 12;box of 24;case of 36", "white;ivory;slate grey;speckled"),
    _c("Glassware", "Kitchen", 24.0, "wine glasses;tumblers;highball glasses;beer glasses;carafes", "toughened;stackable;lead-free;dishwasher-safe", "box of 6;box of 12;box of 24;box of 48", "25 cl;35 cl;45 cl;clear", 12, 0.2),
    _c("Food Storage", "Kitchen", 16.0, "food storage containers;cling film;aluminium foil;vacuum bags", "airtight;freezer-safe;BPA-free;cutter-box", "single;roll of 300 m;pack of 10;box of 100", "1 L;2 L;5 L;clear"),
    _c("Kitchen Textiles", "Kitchen", 14.0, "tea towels;aprons;oven gloves;table cloths", "cotton;heat-resistant;stain-resistant;hemmed", "single;pack of 5;pack of 10;pack of 20", "white;black;striped;natural"),
    _c("Coffee", "Food", 18.0, "coffee beans;ground coffee;coffee pods;instant coffee", "fair-trade;organic;dark roast;single-origin", "1 kg bag;500 g bag;box of 100 pods;tin of 750 g", "espresso;medium roast;decaf;crema", 11, 0.15),
    _c("Tea", "Food", 9.0, "tea bags;loose leaf tea;herbal infusion;green tea", "organic;fair-trade;enveloped;premium", "box of 100;box of 500;500 g bag;box of 25", "breakfast;earl grey;peppermint;chamomile", 11, 0.25),
    _c("Soft Drinks", "Food", 14.0, "sparkling water;still water;cola;lemonade;fruit juice", "sugar-free;natural;carbonated;chilled", "case of 24 cans;case of 12 bottles;pack of 6;case of 24 bottles", "330 ml;500 ml;1.5 L;original", 7, 0.45),
    _c("Snacks", "Food", 11.0, "biscuits;crisps;cereal bars;nuts;chocolate bars", "individually wrapped;gluten-free;low-sugar;assorted", "box of 48;case of 24;box of 100;pack of 12", "salted;chocolate;mixed;sea salt", 12, 0.2),
    _c("Condiments", "Food", 7.0, "ketchup sachets;mayonnaise;sugar sticks;salt and pepper;olive oil", "portion-pack;organic;squeezable;catering-size", "box of 200;5 L canister;box of 1000;case of 6", "original;light;mild;classic"),
    _c("Dairy", "Food", 6.0, "milk portions;UHT milk;coffee creamer;butter portions", "semi-skimmed;lactose-free;long-life;organic", "box of 120;case of 12 L;box of 100;case of 6", "whole;semi-skimmed;oat;skimmed"),
    _c("Copy Paper", "Office", 28.0, "copy paper;printer paper;coloured card;notebooks", "80 gsm;recycled;bright white;FSC-certified", "ream of 500;box of 5 reams;pallet pack;pack of 10", "A4;A3;letter;pastel", 9, 0.2),
    _c("Writing Instruments", "Office", 8.0, "ballpoint pens;gel pens;highlighters;markers;pencils", "retractable;quick-dry;fine-tip;refillable", "box of 10;box of 50;pack of 4;pack of 12", "blue;black;assorted;red", 9, 0.25),
    _c("Filing", "Office", 12.0, "lever arch files;document wallets;archive boxes;dividers", "recycled;heavy-duty;A4;stackable", "pack of 10;box of 50;pack of 5;pack of 25", "black;blue;red;assorted", 9, 0.15),
    _c("Printer Supplies", "Office", 55.0, "toner cartridge;ink cartridge;label tape;drum unit", "high-yield;compatible;original;remanufactured", "single;twin pack;multipack;value pack", "black;cyan;magenta;yellow"),
    _c("Desk Accessories", "Office", 15.0, "staplers;desk organiser;tape dispenser;scissors;calculator", "ergonomic;heavy-duty;recycled;compact", "single;pack of 2;pack of 5;box of 10", "black;silver;blue;white"),
    _c("Light Bulbs", "Facility", 7.0, "LED bulbs;LED tubes;floodlights;emergency lights", "dimmable;energy-saving;long-life;daylight", "single;pack of 4;pack of 10;case of 25", "E27;GU10;T8;warm white", 11, 0.3),
    _c("Batteries", "Facility", 10.0, "AA batteries;AAA batteries;9V batteries;button cells", "alkaline;rechargeable;long-life;lithium", "pack of 4;pack of 12;box of 24;box of 100", "industrial;high-drain;standard;bulk", 12, 0.2),
    _c("Hand Tools", "Facility", 22.0, "screwdriver set;hammer;pliers;tape measure;utility knife", "insulated;magnetic;professional;compact", "single;set of 6;set of 12;single", "small;medium;large;metric"),
    _c("Fasteners", "Facility", 9.0, "wood screws;wall plugs;cable ties;bolts and nuts", "zinc-plated;stainless steel;assorted;heavy-duty", "box of 100;box of 200;pack of 50;box of 1000", "M4;M6;M8;assorted"),
    _c("Plumbing", "Facility", 16.0, "drain unblocker;tap washers;PTFE tape;pipe fittings", "professional;universal;fast-acting;brass", "single;pack of 10;1 L bottle;box of 50", "15 mm;22 mm;universal;chrome"),
    _c("Shipping Boxes", "Packaging", 20.0, "cardboard boxes;postal boxes;mailing bags;archive cartons", "double-wall;single-wall;recycled;self-seal", "pack of 10;pack of 25;bundle of 50;pallet of 500", "small;medium;large;extra large", 11, 0.35),
    _c("Packing Tape", "Packaging", 8.0, "packing tape;masking tape;duct tape;fragile tape", "low-noise;strong-adhesive;printed;paper-based", "single roll;pack of 6;pack of 36;pack of 12", "clear;brown;white;printed"),
    _c("Stretch Film", "Packaging", 30.0, "stretch film;pallet wrap;bundling film;shrink wrap", "cast;blown;pre-stretched;recycled", "single roll;pack of 6;pack of 2;case of 18", "clear;black;blue;500 mm"),
    _c("Labels", "Packaging", 12.0, "address labels;shipping labels;barcode labels;warning labels", "self-adhesive;thermal;removable;weatherproof", "pack of 100;box of 500;roll of 1000;box of 2000", "white;yellow;red;kraft"),
    _c("Cushioning", "Packaging", 25.0, "bubble wrap;void fill;packing peanuts;foam sheets", "anti-static;recycled;biodegradable;perforated", "single roll;bag of 15 cu ft;pack of 2;case of 4", "small bubble;large bubble;white;green"),
)
# fmt: on

DEPARTMENTS: tuple[str, ...] = (
    "Cleaning", "Disposables", "Safety", "Kitchen", "Food", "Office", "Facility", "Packaging"
)

# Items of the first category of a pair are sometimes also listed in the second one ("A|B").
MULTI_CATEGORY_PAIRS: tuple[tuple[str, str], ...] = (
    ("Surface Cleaners", "Kitchen Utensils"), ("Disinfectants", "First Aid"), ("Hand Soap", "First Aid"),
    ("Food Containers", "Food Storage"), ("Disposable Cups", "Tableware"), ("Gloves", "Surface Cleaners"),
    ("Kitchen Textiles", "Cleaning Tools"), ("Masks", "First Aid"), ("Labels", "Filing"),
    ("Packing Tape", "Desk Accessories"), ("Snacks", "Soft Drinks"), ("Trash Bags", "Cleaning Tools"),
    ("Batteries", "Desk Accessories"), ("Coffee", "Tea"), ("Napkins", "Tableware"),
)

# Segment: (share of customers, activity multiplier, basket-size multiplier, units per line, department weights).
SEGMENTS: dict[str, tuple[float, float, float, float, tuple[float, ...]]] = {
    "retail": (0.34, 0.8, 0.9, 2.0, (2.0, 2.0, 0.5, 1.0, 2.5, 0.8, 1.0, 1.5)),
    "horeca": (0.28, 1.2, 1.1, 3.0, (2.5, 3.0, 0.7, 3.0, 3.0, 0.3, 0.5, 0.8)),
    "wholesale": (0.07, 3.0, 1.8, 8.0, (2.0, 2.0, 1.5, 1.5, 2.0, 1.0, 1.5, 2.5)),
    "institutional": (0.11, 1.5, 1.3, 4.0, (3.0, 2.5, 1.5, 1.0, 1.5, 1.5, 2.0, 0.5)),
    "office": (0.12, 0.7, 0.8, 1.5, (1.5, 1.5, 0.3, 0.5, 2.5, 4.0, 1.0, 1.0)),
    "healthcare": (0.05, 1.0, 1.0, 3.0, (3.0, 2.0, 3.5, 0.5, 0.8, 1.0, 1.0, 0.5)),
    "industrial": (0.03, 1.3, 1.2, 4.0, (1.5, 1.0, 4.0, 0.3, 0.5, 0.6, 3.5, 2.5)),
}

REGIONS: dict[str, float] = {
    "North": 0.22, "South": 0.20, "East": 0.18, "West": 0.17, "Central": 0.16, "Islands": 0.07
}

BRAND_PREFIXES = (
    "Nor Vel Cla Pri Tex Bri Pur Ast Kel Mar Sol Ver Lum Ter Zen Pol Cor Dur Fle Gra "
    "Hol Ion Jas Kor Lin Mon Nex Orb Pax Qui Rho Sab Tri Ult Vix Wel"
).split()
BRAND_SUFFIXES = "ex ora ix on ica um ada ell ico ar is ano eo uma ent ova yx ira osa une".split()
SERIES = "Pro Eco Max Ultra Plus Select Classic Pure Comfort Expert Basic Prime Smart Care Elite".split()
TIER_WORDS: tuple[tuple[str, ...], ...] = (
    ("economy ", "value ", "budget "), ("", "", "standard "), ("premium ", "professional ", "deluxe ")
)
