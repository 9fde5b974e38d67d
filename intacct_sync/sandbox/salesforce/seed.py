"""Deterministic demo data of the Salesforce emulator.

One org holds both demo companies: an IT-services seller (Accounts, Contacts, Products, the
standard price book, Opportunities with line items) and a nonprofit (donors as Contacts with a
``Donor_ID__c``, twelve years of ``Gift__c`` rows, recent ``Action__c`` rows carrying CR/DR tags).
Dates are relative to today so that "last 30 days" or "last 2 years" logic always finds data.
Everything is drawn from a fixed random seed: two fresh sandboxes hold the same rows (ids too).
``docs/sandbox-salesforce.md`` describes what is seeded.

Slightly over 600 lines: the demo data of both companies, kept together so one seed draws it.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from intacct_sync.sandbox.salesforce.auth import USERNAME
from intacct_sync.sandbox.salesforce.schema import OBJECTS
from intacct_sync.sandbox.salesforce.store import Store, format_datetime

__all__ = ["EXCLUDE_TAG", "seed_bulk", "seed_demo", "tag_label"]

#: the tag that makes the journal workflow skip an action
EXCLUDE_TAG = "[System] Auto-Generated: Exclude from Sage Intacct"

#: Intacct GL accounts the seeded tags use (ids exist in the Intacct sandbox's nonprofit)
ACCOUNTS = {
    "1000": "Cash - Operating",
    "1200": "Pledges Receivable",
    "4000": "Contributions - Individuals",
    "4010": "Contributions - Corporate",
    "4100": "Membership Dues",
    "4200": "Special Event Tickets",
}
LOCATIONS = ("HQ", "NORTH", "SOUTH")
DEPARTMENTS = ("PROG", "FUND", "ADMIN", "EVENTS")
CLASSES = ("UNRESTRICTED", "RESTRICTED")

_FIRST = [
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Daniel",
    "Nancy",
    "Matthew",
    "Lisa",
    "Anthony",
    "Betty",
    "Mark",
    "Sandra",
    "Donald",
    "Ashley",
    "Steven",
    "Kimberly",
    "Paul",
    "Emily",
    "Andrew",
    "Donna",
    "Joshua",
    "Michelle",
    "Kenneth",
    "Carol",
    "Kevin",
    "Amanda",
    "Brian",
    "Melissa",
    "George",
    "Deborah",
    "Aisha",
    "Hiroshi",
    "Mei",
    "Santiago",
    "Priya",
    "Olga",
    "Kwame",
    "Ingrid",
    "Mateo",
    "Fatima",
]
_LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "O'Brien",
    "D'Souza",
    "Okafor",
    "Tanaka",
    "Müller",
    "Kowalski",
]
_CITIES = ("Springfield", "Riverton", "Lakeside", "Fairview", "Georgetown", "Salem", "Madison")

_COMPANIES = (
    ("Acme Logistics", "Manufacturing"),
    ("Northwind Traders", "Retail"),
    ("Globex Corporation", "Technology"),
    ("Initech", "Technology"),
    ("Umbrella Health Partners", "Healthcare"),
    ("Stark Fabrication", "Manufacturing"),
    ("Wayne Financial Group", "Finance"),
    ("Cyberdyne Analytics", "Technology"),
    ("Soylent Foods", "Retail"),
    ("Hooli Cloud Services", "Technology"),
    ("Vandelay Industries", "Manufacturing"),
    ("Pied Piper Data", "Technology"),
    ("Bluth Property Management", "Finance"),
    ("Dunder Paper Supply", "Retail"),
    ("Oceanic Airlines Cargo", "Other"),
    ("Massive Dynamic Labs", "Healthcare"),
    ("Tyrell Robotics", "Manufacturing"),
    ("Gringotts Credit Union", "Finance"),
    ("Wonka Confectionery", "Retail"),
    ("Prestige Worldwide Events", "Other"),
    ("Sterling Cooper Advertising", "Other"),
    ("Los Pollos Distribution", "Retail"),
    ("Monarch Solar", "Technology"),
    ("Riverside School District", "Education"),
    ("City of Fairview", "Government"),
    ("Greendale Community College", "Education"),
    ("Rekall Travel", "Other"),
    ("O'Malley & Daughters Law", "Finance"),
)
#: near-duplicates of two accounts above, for the baseline duplicate report
_NEAR_DUPLICATES = (("Northwind Traders, Inc.", "Retail"), ("Globex Corp.", "Technology"))

_PRODUCTS = (
    # code, name, family, list price, unit, Intacct item id (None: not yet linked), active
    (
        "MS-BASIC",
        "Managed Services - Basic (monthly)",
        "Managed Services",
        1500,
        "Month",
        "MS-100",
        True,
    ),
    (
        "MS-PRO",
        "Managed Services - Pro (monthly)",
        "Managed Services",
        3500,
        "Month",
        "MS-200",
        True,
    ),
    ("PS-CONSULT", "Consulting Hour", "Professional Services", 175, "Hour", "PS-100", True),
    ("PS-PM", "Project Management Hour", "Professional Services", 150, "Hour", "PS-110", True),
    (
        "PS-MIGRATE",
        "Cloud Migration Package",
        "Professional Services",
        12000,
        "Each",
        "PS-200",
        True,
    ),
    ("SW-M365", "Microsoft 365 Business Seat (annual)", "Software", 264, "Each", "SW-100", True),
    ("SW-BACKUP", "Backup Suite License (annual)", "Software", 900, "Each", "SW-110", True),
    ("HW-LAPTOP", "Business Laptop 14in", "Hardware", 1299, "Each", "HW-100", True),
    ("HW-FIREWALL", "Next-Gen Firewall Appliance", "Hardware", 2450, "Each", "HW-200", True),
    ("SUP-247", "24x7 Support Plan (annual)", "Support", 6000, "Each", None, True),
    ("SUP-ONSITE", "On-site Support Visit", "Support", 450, "Each", None, True),
    ("HW-SERVER-OLD", "Rack Server Gen8 (discontinued)", "Hardware", 5200, "Each", "HW-900", False),
)


def tag_label(side: str, dimension: str, value: str, name: str | None = None) -> str:
    """A CR/DR tag label as the seeded actions carry it.

    >>> tag_label("CR", "Account", "4000", "Contributions - Individuals")
    'CR Account: 4000 Contributions - Individuals'
    >>> tag_label("DR", "Location", "HQ")
    'DR Location: HQ'
    """
    return f"{side} {dimension}: {value}" + (f" {name}" if name else "")


def _stamp(day: dt.datetime) -> str:
    return format_datetime(day)


def seed_demo(store: Store, *, today: dt.date | None = None) -> None:
    """Fill an empty store with the demo org."""
    rng = random.Random(20240131)
    today = today or dt.datetime.now(dt.UTC).date()
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    with store.savepoint():
        users = _seed_users(store)
        _seed_order_to_cash(store, rng, today, now, users)
        _seed_nonprofit(store, rng, today, now)


def _seed_users(store: Store) -> list[str]:
    people = [
        ("Integration", "User", USERNAME),
        ("Alex", "Morgan", "alex.morgan@sandbox.example"),
        ("Priya", "Shah", "priya.shah@sandbox.example"),
        ("Sam", "Carter", "sam.carter@sandbox.example"),
        ("Jordan", "Lee", "jordan.lee@sandbox.example"),
    ]
    ids = store.new_ids(OBJECTS["User"], len(people))
    store.default_user_id = ids[0]
    store.insert_many(
        OBJECTS["User"],
        [
            {
                "Id": uid,
                "FirstName": first,
                "LastName": last,
                "Name": f"{first} {last}",
                "Username": username,
                "Email": username,
                "Alias": (first[0] + last[:4]).lower(),
                "IsActive": True,
                "CreatedById": ids[0],
                "LastModifiedById": ids[0],
            }
            for uid, (first, last, username) in zip(ids, people, strict=True)
        ],
    )
    return ids


def _seed_order_to_cash(
    store: Store, rng: random.Random, today: dt.date, now: dt.datetime, users: list[str]
) -> None:
    reps = users[1:]
    companies = list(_COMPANIES) + list(_NEAR_DUPLICATES)
    accounts = []
    for n, (name, industry) in enumerate(companies):
        linked = n < 20  # the first 20 already have an Intacct customer id
        ar = [round(rng.uniform(0, 20000), 2) if linked and rng.random() < 0.6 else 0.0]
        ar += [
            round(rng.uniform(0, 8000), 2) if linked and rng.random() < p else 0.0
            for p in (0.4, 0.3, 0.2, 0.15, 0.1)
        ]
        accounts.append(
            {
                "Name": name,
                "AccountNumber": f"ACC-{1001 + n}",
                "Type": "Customer - Direct"
                if linked
                else rng.choice(["Prospect", "Customer - Direct", "Partner"]),
                "Industry": industry,
                "Phone": f"(555) 01{n:02d}-{rng.randint(1000, 9999)}",
                "Website": "https://www."
                + "".join(c for c in name.lower() if c.isalnum())[:20]
                + ".example",
                "BillingStreet": f"{rng.randint(1, 999)} Market Street",
                "BillingCity": rng.choice(_CITIES),
                "BillingState": rng.choice(["CA", "NY", "TX", "WA", "IL"]),
                "BillingPostalCode": f"{rng.randint(10000, 99999)}",
                "BillingCountry": "United States",
                "NumberOfEmployees": rng.choice([12, 45, 120, 300, 850, 2400]),
                "AnnualRevenue": float(rng.choice([1, 5, 12, 40, 150]) * 1_000_000),
                "Intacct_Customer_ID__c": f"C-{1001 + n}" if linked else None,
                "Is_Deleted__c": False,
                "AR_Current__c": ar[0],
                "AR_1_30__c": ar[1],
                "AR_31_60__c": ar[2],
                "AR_61_90__c": ar[3],
                "AR_91_120__c": ar[4],
                "AR_Over_120__c": ar[5],
                "OwnerId": rng.choice(reps),
                "CreatedDate": _stamp(now - dt.timedelta(days=400 - n * 5)),
            }
        )
    account_ids = store.insert_many(OBJECTS["Account"], accounts)

    contacts = []
    for n, account_id in enumerate(account_ids):
        for k in range(2):
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            contacts.append(
                {
                    "AccountId": account_id,
                    "FirstName": first,
                    "LastName": last,
                    "Name": f"{first} {last}",
                    "Email": f"{first.lower()}.{last.lower().replace(chr(39), '')}{n}{k}@customer.example",
                    "Phone": f"(555) 02{n:02d}-{rng.randint(1000, 9999)}",
                    "Title": rng.choice(
                        ["CFO", "IT Director", "Office Manager", "CTO", "Controller"]
                    ),
                    "OwnerId": accounts[n]["OwnerId"],
                }
            )
    store.insert_many(OBJECTS["Contact"], contacts)

    product_rows = [
        {
            "Name": name,
            "ProductCode": code,
            "Family": family,
            "IsActive": active,
            "Description": f"{name} ({family})",
            "QuantityUnitOfMeasure": unit,
            "Intacct_Item_ID__c": item,
            "Is_Deleted__c": not active,
        }
        for code, name, family, _price, unit, item, active in _PRODUCTS
    ]
    product_ids = store.insert_many(OBJECTS["Product2"], product_rows)
    (pricebook_id,) = store.insert_many(
        OBJECTS["Pricebook2"],
        [{"Name": "Standard Price Book", "IsActive": True, "IsStandard": True}],
    )
    entries = [
        {
            "Pricebook2Id": pricebook_id,
            "Product2Id": pid,
            "UnitPrice": float(spec[3]),
            "IsActive": spec[6],
            "UseStandardPrice": False,
            "Name": spec[1],
            "ProductCode": spec[0],
        }
        for pid, spec in zip(product_ids, _PRODUCTS, strict=True)
    ]
    entry_ids = store.insert_many(OBJECTS["PricebookEntry"], entries)

    opps: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    opp_ids = store.new_ids(OBJECTS["Opportunity"], 40)
    for n, opp_id in enumerate(opp_ids):
        account_n = n % len(account_ids) if n < 30 else rng.randrange(20)
        if n < 18:
            stage = "Closed Won"
            close = today - dt.timedelta(days=rng.randint(1, 150))
        elif n < 26:
            stage = "Closed Lost"
            close = today - dt.timedelta(days=rng.randint(1, 150))
        else:
            stage = rng.choice(
                [
                    "Prospecting",
                    "Qualification",
                    "Needs Analysis",
                    "Proposal/Price Quote",
                    "Negotiation/Review",
                ]
            )
            close = today + dt.timedelta(days=rng.randint(5, 90))
        total = 0.0
        picks = rng.sample(range(len(_PRODUCTS) - 1), rng.randint(1, 4))
        if n == 17:
            picks = []  # a Closed Won opportunity without line items
        for k in picks:
            spec = _PRODUCTS[k]
            qty = float(rng.choice([1, 2, 3, 5, 10, 12, 20, 40]) if spec[4] != "Month" else 12)
            discount = rng.choice([None, None, 5.0, 10.0])
            price = float(spec[3])
            line_total = round(qty * price * (1 - (discount or 0) / 100), 2)
            total += line_total
            lines.append(
                {
                    "OpportunityId": opp_id,
                    "PricebookEntryId": entry_ids[k],
                    "Product2Id": product_ids[k],
                    "ProductCode": spec[0],
                    "Name": f"{companies[account_n][0]} {spec[1]}",
                    "Quantity": qty,
                    "UnitPrice": price,
                    "ListPrice": price,
                    "Discount": discount,
                    "TotalPrice": line_total,
                    "ServiceDate": close.isoformat(),
                }
            )
        if n == 1:
            # Closed Won with a line that has no product: invalid for the sales-order workflow
            lines.append(
                {
                    "OpportunityId": opp_id,
                    "Name": "Custom work (no product)",
                    "Quantity": 1.0,
                    "UnitPrice": 800.0,
                    "TotalPrice": 800.0,
                    "Description": "Line entered without a price book entry",
                }
            )
            total += 800.0
        amount = round(total, 2)
        if n == 0:
            amount = round(total + 500.0, 2)  # Closed Won whose Amount != sum of its lines
        name = companies[account_n][0]
        opps.append(
            {
                "Id": opp_id,
                "AccountId": account_ids[account_n],
                "Name": f"{name} - {rng.choice(['Renewal', 'Expansion', 'New Deployment', 'Migration', 'Refresh'])} {n + 1}",
                "StageName": stage,
                "Amount": amount,
                "Probability": {"Closed Won": 100, "Closed Lost": 0}.get(stage, 50),
                "CloseDate": close.isoformat(),
                "Type": rng.choice(["New Customer", "Existing Customer - Upgrade"]),
                "LeadSource": rng.choice(["Web", "Partner Referral", "Phone Inquiry"]),
                "IsClosed": stage in {"Closed Won", "Closed Lost"},
                "IsWon": stage == "Closed Won",
                "Pricebook2Id": pricebook_id,
                "OwnerId": accounts[account_n]["OwnerId"],
                "Intacct_Document_ID__c": f"Sales Order-SO-{1001 + n}" if 2 <= n < 5 else None,
                "CreatedDate": _stamp(now - dt.timedelta(days=160 - n * 3)),
            }
        )
    store.insert_many(OBJECTS["Opportunity"], opps)
    store.insert_many(OBJECTS["OpportunityLineItem"], lines)


def _seed_nonprofit(store: Store, rng: random.Random, today: dt.date, now: dt.datetime) -> None:
    donors = []
    n_donors = 400
    for n in range(n_donors):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        donors.append(
            {
                "FirstName": first,
                "LastName": last,
                "Name": f"{first} {last}",
                "Email": f"{first.lower()}.{last.lower().replace(chr(39), '')}.{n}@donor.example",
                "MailingCity": rng.choice(_CITIES),
                "MailingState": rng.choice(["OR", "WA", "CA"]),
                "Donor_ID__c": f"D-{n + 1:05d}",
                "CreatedDate": _stamp(now - dt.timedelta(days=4400 - n * 10)),
            }
        )
    donor_ids = store.insert_many(OBJECTS["Contact"], donors)

    gifts: list[dict[str, Any]] = []
    span = 12 * 365
    for n, donor_id in enumerate(donor_ids):
        r = rng.random()
        if r < 0.12:  # new donors: first gift within the last year
            start, end = rng.randint(1, 360), 0
        elif r < 0.35:  # lapsed: last gift 2 to 9 years ago
            end = rng.randint(2 * 365 + 10, 9 * 365)
            start = min(span, end + rng.randint(0, 3 * 365))
        elif r < 0.40:  # long gone: gave only 10 to 12 years ago
            end = rng.randint(10 * 365 + 10, span - 30)
            start = min(span, end + rng.randint(0, 300))
        else:  # active: gave within the last 2 years
            end = rng.randint(0, 700)
            start = rng.randint(end, span)
        count = 1 + min(int(rng.expovariate(1 / 7)), 30)
        for _ in range(count):
            days_ago = rng.randint(end, max(start, end))
            kind = rng.choices(["Donation", "Membership", "Ticket"], [75, 15, 10])[0]
            if kind == "Donation":
                amount = round(min(rng.lognormvariate(4.6, 1.0), 9500), 2)
            elif kind == "Membership":
                amount = float(rng.choice([50, 100, 250]))
            else:
                amount = float(rng.choice([75, 150]))
            gifts.append(
                {
                    "Donor__c": donor_id,
                    "Gift_Date__c": (today - dt.timedelta(days=days_ago)).isoformat(),
                    "Amount__c": max(amount, 5.0),
                    "Type__c": kind,
                }
            )
        if n % 50 == 7:  # 8 major donors: over 50,000 within the last 2 years
            for k in range(2):
                gifts.append(
                    {
                        "Donor__c": donor_id,
                        "Gift_Date__c": (
                            today - dt.timedelta(days=30 + 200 * k + n % 90)
                        ).isoformat(),
                        "Amount__c": float(30000 + 5000 * (n % 4)),
                        "Type__c": "Donation",
                    }
                )
        if n % 100 == 23:  # near misses: 45,000 within 2 years (not major)
            gifts.append(
                {
                    "Donor__c": donor_id,
                    "Gift_Date__c": (today - dt.timedelta(days=100)).isoformat(),
                    "Amount__c": 45000.0
                    - sum(
                        g["Amount__c"]
                        for g in gifts
                        if g["Donor__c"] == donor_id
                        and g["Gift_Date__c"] >= (today - dt.timedelta(days=730)).isoformat()
                    ),
                    "Type__c": "Donation",
                }
            )
    for g in gifts:
        g["CreatedDate"] = _stamp(
            dt.datetime.combine(dt.date.fromisoformat(g["Gift_Date__c"]), dt.time(15), dt.UTC)
        )
    store.insert_many(OBJECTS["Gift__c"], gifts)
    _seed_actions(store, rng, now, donor_ids, donors)


def _seed_actions(
    store: Store,
    rng: random.Random,
    now: dt.datetime,
    donor_ids: list[str],
    donors: list[dict[str, Any]],
) -> None:
    actions = []
    total = 200
    for n in range(total):
        created = now - dt.timedelta(minutes=rng.randint(30, 30 * 24 * 60 - 60))
        happened = created - dt.timedelta(minutes=rng.randint(0, 6 * 60))
        kind = rng.choices(["Donation", "Membership", "Ticket"], [70, 18, 12])[0]
        k = rng.randrange(len(donor_ids))
        if kind == "Donation":
            amount = round(min(rng.lognormvariate(4.4, 0.9), 5000), 2)
            cr = "4010" if rng.random() < 0.15 else "4000"
            dr = "1200" if rng.random() < 0.1 else "1000"
            dept = "FUND"
        elif kind == "Membership":
            amount = float(rng.choice([50, 100, 250]))
            cr, dr, dept = "4100", "1000", "PROG"
        else:
            amount = float(rng.choice([75, 150]))
            cr, dr, dept = "4200", "1000", "EVENTS"
        tags = [
            tag_label("CR", "Account", cr, ACCOUNTS[cr]),
            tag_label("DR", "Account", dr, ACCOUNTS[dr]),
        ]
        if rng.random() < 0.8:
            loc = rng.choice(LOCATIONS)
            tags += [tag_label("CR", "Location", loc), tag_label("DR", "Location", loc)]
        if rng.random() < 0.7:
            tags += [tag_label("CR", "Department", dept), tag_label("DR", "Department", dept)]
        if rng.random() < 0.6:
            cls = "RESTRICTED" if rng.random() < 0.2 else "UNRESTRICTED"
            tags += [tag_label("CR", "Class", cls), tag_label("DR", "Class", cls)]
        if rng.random() < 0.2:
            tags.append(rng.choice(["Newsletter Signup", "Online", "Board Member"]))
        number = n + 1
        if 190 <= number <= 194:
            tags.append(EXCLUDE_TAG)
        elif number in (195, 196):  # missing the DR account tag
            tags = [t for t in tags if not t.startswith("DR Account:")]
        elif number in (197, 198):  # one side of the location pair only
            tags = [t for t in tags if not t.startswith(("CR Location:", "DR Location:"))]
            tags.append(tag_label("CR", "Location", "NORTH"))
        elif number == 199:
            amount = 0.0
        elif number == 200:
            amount = -25.0
        donor = donors[k]
        actions.append(
            {
                "Name": f"A-{number:05d}",
                "Action_Type__c": kind,
                "Amount__c": amount,
                "Happened_At__c": format_datetime(happened),
                "Contact__c": donor_ids[k],
                "Summary__c": f"{kind} from {donor['FirstName']} {donor['LastName']}",
                "Action_URL__c": f"https://crm.sandbox.example/actions/A-{number:05d}",
                "Tags__c": ";".join(tags),
                "Status__c": "New",
                "Intacct_Posted__c": False,
                "CreatedDate": format_datetime(created),
            }
        )
    store.insert_many(OBJECTS["Action__c"], actions)


def seed_bulk(store: Store, sobject: str, n: int, *, seed: int = 7) -> list[str]:
    """Insert ``n`` synthetic rows quickly (benchmarks): ``Opportunity`` (each with an Account and
    an Owner) or ``Account``. Returns the new ids.
    """
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC)
    today = now.date()
    with store.lock:
        users = [r[0] for r in store.conn.execute('SELECT "Id" FROM sf_User ORDER BY "Id"')]
        if sobject == "Account":
            rows = [
                {
                    "Name": f"Bulk Account {k:06d}",
                    "AccountNumber": f"B-{k:06d}",
                    "Industry": rng.choice(["Technology", "Retail", "Finance"]),
                    "BillingCity": rng.choice(_CITIES),
                    "AnnualRevenue": float(rng.randint(1, 500) * 10000),
                    "OwnerId": rng.choice(users),
                }
                for k in range(n)
            ]
            return store.insert_many(OBJECTS["Account"], rows)
        if sobject != "Opportunity":
            raise ValueError(f"seed_bulk supports Account and Opportunity, not {sobject}")
        parents = seed_bulk(store, "Account", max(1, n // 50), seed=seed + 1)
        stages = ["Prospecting", "Qualification", "Closed Won", "Closed Lost", "Negotiation/Review"]
        rows = []
        for k in range(n):
            stage = stages[k % 5]
            rows.append(
                {
                    "Name": f"Bulk Opportunity {k:06d}",
                    "AccountId": parents[k % len(parents)],
                    "OwnerId": users[k % len(users)],
                    "StageName": stage,
                    "Amount": float(rng.randint(1, 2000) * 50),
                    "Probability": 100 if stage == "Closed Won" else 20,
                    "CloseDate": (today - dt.timedelta(days=k % 700)).isoformat(),
                    "IsClosed": stage.startswith("Closed"),
                    "IsWon": stage == "Closed Won",
                }
            )
        return store.insert_many(OBJECTS["Opportunity"], rows)
