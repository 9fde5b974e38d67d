"""Demo data of the Intacct emulator: a nonprofit and an IT-services company.

Deterministic for a given anchor day (the gateway uses today): every date is counted back from
the anchor and every "random" figure comes from a fixed-seed generator, so runs on the same day
see the same data and "the last 24 months" always has figures.

DEMO-NONPROFIT: a nonprofit chart of accounts, statistical donor accounts, journals GJ / CRJ /
STAT (statistical) / ADJ (inactive), locations, departments, classes, the FUND dimension, and a
posted GLBATCH per journal per month for 24 full months plus the current month.
DEMO-ITSERVICES: an AR chart, customers (two near-duplicate names, two inactive), items, sales
orders, ~60 AR invoices over 9 months in every aging state, and payments for the paid ones.

It is long (over 600 lines) because it is data: two demo companies' charts, dimensions and two years
of entries.
"""

from __future__ import annotations

import calendar
import random
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from intacct_sync.sandbox.intacct.schema import OBJECTS
from intacct_sync.sandbox.intacct.store import Store

__all__ = ["ITSERVICES", "NONPROFIT", "seed_all", "seed_gl_entries"]

NONPROFIT = "DEMO-NONPROFIT"
ITSERVICES = "DEMO-ITSERVICES"
CENT = Decimal("0.01")

Rec = dict[str, str | None]


def _d(day: date) -> str:
    return day.strftime("%m/%d/%Y")


def _ts(moment: datetime) -> str:
    return moment.strftime("%m/%d/%Y %H:%M:%S")


def _money(value: Decimal) -> str:
    return format(value.quantize(CENT), "f")


def _udd(
    store: Store, company: str, name: str, values: Sequence[str], created: datetime
) -> dict[str, str]:
    """A user-defined dimension's values (platform records, §13.5); value name -> its ``id``."""
    obj = OBJECTS[name]
    stamp = _ts(created)
    records: list[Rec] = [
        {"name": v, "createdBy": "10", "updatedBy": "10", "createdAt": stamp, "updatedAt": stamp}
        for v in values
    ]
    ids = store.insert_many(company, obj, records)
    return {v: str(i) for v, i in zip(values, ids, strict=True)}


def _insert(
    store: Store, company: str, name: str, records: Sequence[Rec], created: datetime
) -> list[int]:
    """Insert with audit fields filled (WHENCREATED only where it is a timestamp)."""
    obj = OBJECTS[name]
    stamp_created = obj.field_map["WHENCREATED"].datatype == "TIMESTAMP"
    out: list[Rec] = []
    for n, rec in enumerate(records):
        moment = _ts(created + timedelta(minutes=n))
        full: Rec = {"CREATEDBY": "1", "MODIFIEDBY": "1", "WHENMODIFIED": moment}
        if stamp_created:
            full["WHENCREATED"] = moment
        if obj.has_status:
            full["STATUS"] = "active"
        full.update(rec)
        out.append(full)
    return store.insert_many(company, obj, out)


def _simple(
    store: Store,
    company: str,
    name: str,
    id_field: str,
    name_field: str,
    rows: Iterable[tuple[str, ...]],
    created: datetime,
    inactive: Iterable[str] = (),
    **extra: str,
) -> None:
    off = set(inactive)
    records: list[Rec] = []
    for row in rows:
        rec: Rec = {id_field: row[0], name_field: row[1], **extra}
        if row[0] in off:
            rec["STATUS"] = "inactive"
        records.append(rec)
    _insert(store, company, name, records, created)


# -- DEMO-NONPROFIT -----------------------------------------------------------------------------

_NP_ACCOUNTS: list[tuple[str, str, str, str]] = [
    ("1000", "Cash - Operating", "balancesheet", "debit"),
    ("1010", "Cash - Savings", "balancesheet", "debit"),
    ("1020", "Cash - Payroll", "balancesheet", "debit"),
    ("1100", "Investments", "balancesheet", "debit"),
    ("1200", "Pledges Receivable", "balancesheet", "debit"),
    ("1210", "Allowance for Uncollectible Pledges", "balancesheet", "credit"),
    ("1300", "Grants Receivable", "balancesheet", "debit"),
    ("1400", "Accounts Receivable - Other", "balancesheet", "debit"),
    ("1500", "Prepaid Expenses", "balancesheet", "debit"),
    ("1600", "Property and Equipment", "balancesheet", "debit"),
    ("1610", "Accumulated Depreciation", "balancesheet", "credit"),
    ("2000", "Accounts Payable", "balancesheet", "credit"),
    ("2100", "Accrued Payroll", "balancesheet", "credit"),
    ("2200", "Deferred Revenue", "balancesheet", "credit"),
    ("2300", "Notes Payable", "balancesheet", "credit"),
    ("3000", "Net Assets without Donor Restrictions", "balancesheet", "credit"),
    ("3100", "Net Assets with Donor Restrictions", "balancesheet", "credit"),
    ("4000", "Contributions - Individuals", "incomestatement", "credit"),
    ("4010", "Contributions - Corporate", "incomestatement", "credit"),
    ("4020", "Contributions - Restricted", "incomestatement", "credit"),
    ("4030", "Contributions - In-Kind", "incomestatement", "credit"),
    ("4100", "Membership Dues", "incomestatement", "credit"),
    ("4200", "Special Event Tickets", "incomestatement", "credit"),
    ("4210", "Special Event Sponsorships", "incomestatement", "credit"),
    ("4300", "Grants - Foundation", "incomestatement", "credit"),
    ("4310", "Grants - Government", "incomestatement", "credit"),
    ("4400", "Program Service Fees", "incomestatement", "credit"),
    ("4500", "Investment Income", "incomestatement", "credit"),
    ("4900", "Miscellaneous Revenue", "incomestatement", "credit"),
    ("5000", "Program Services", "incomestatement", "debit"),
    ("5100", "Program Salaries", "incomestatement", "debit"),
    ("5200", "Program Supplies", "incomestatement", "debit"),
    ("6000", "Fundraising Expense", "incomestatement", "debit"),
    ("6100", "Event Costs", "incomestatement", "debit"),
    ("6200", "Donor Cultivation", "incomestatement", "debit"),
    ("7000", "Management & General", "incomestatement", "debit"),
    ("7100", "Salaries - Administration", "incomestatement", "debit"),
    ("7200", "Rent and Occupancy", "incomestatement", "debit"),
    ("7300", "Professional Fees", "incomestatement", "debit"),
    ("7400", "Technology", "incomestatement", "debit"),
    ("7500", "Insurance", "incomestatement", "debit"),
    ("7900", "Postage (retired)", "incomestatement", "debit"),
]
_NP_INACTIVE_ACCOUNTS = ("4900", "7900")
_NP_STAT = [
    ("9000", "Donors", "cumulative"),
    ("9010", "Active Donors", "forperiod"),
    ("9020", "Major Donors", "forperiod"),
    ("9030", "New Donors", "forperiod"),
    ("9040", "Lapsed Donors", "forperiod"),
    ("9050", "Members", "forperiod"),
]
_LOC_SHARE = (("HQ", Decimal("0.5")), ("NORTH", Decimal("0.3")), ("SOUTH", Decimal("0.2")))
#: account, monthly base, department, class, fund, months it occurs in (None = every month)
_NP_REVENUE: list[tuple[str, int, str, str, str, tuple[int, ...] | None]] = [
    ("4000", 18000, "FUND", "UNRESTRICTED", "GENERAL", None),
    ("4010", 9000, "FUND", "UNRESTRICTED", "GENERAL", None),
    ("4020", 6000, "FUND", "RESTRICTED", "SCHOLARSHIP", None),
    ("4100", 3500, "ADMIN", "UNRESTRICTED", "GENERAL", None),
    ("4200", 25000, "EVENTS", "UNRESTRICTED", "GENERAL", (4, 10)),
    ("4210", 12000, "EVENTS", "UNRESTRICTED", "GENERAL", (4, 10)),
    ("4300", 30000, "PROG", "EDU", "GENERAL", (1, 4, 7, 10)),
    ("4310", 20000, "PROG", "HEALTH", "CAPITAL", (3, 9)),
]
_NP_EXPENSE: list[tuple[str, int, str, str, tuple[int, ...] | None]] = [
    ("5000", 14000, "PROG", "EDU", None),
    ("5100", 16000, "PROG", "HEALTH", None),
    ("5200", 2500, "PROG", "EDU", None),
    ("6000", 5000, "FUND", "UNRESTRICTED", None),
    ("6100", 14000, "EVENTS", "UNRESTRICTED", (4, 10)),
    ("7000", 3000, "ADMIN", "UNRESTRICTED", None),
    ("7100", 7000, "ADMIN", "UNRESTRICTED", None),
    ("7200", 4500, "ADMIN", "UNRESTRICTED", None),
]
_SEASON = {11: Decimal("1.4"), 12: Decimal("2.5"), 1: Decimal("0.8"), 7: Decimal("0.8")}


def _months(anchor: date, count: int) -> list[date]:
    """Month-end dates of the ``count`` full months before ``anchor``'s month, oldest first."""
    out: list[date] = []
    year, month = anchor.year, anchor.month
    for _ in range(count):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        out.append(date(year, month, calendar.monthrange(year, month)[1]))
    return out[::-1]


def _line(
    account: str,
    tr_type: int,
    amount: Decimal,
    memo: str,
    location: str = "",
    department: str = "",
    class_id: str = "",
    fund: str = "",
) -> Rec:
    return {
        "ACCOUNTNO": account,
        "TR_TYPE": str(tr_type),
        "TRX_AMOUNT": _money(amount) if tr_type else str(amount),
        "DESCRIPTION": memo,
        "LOCATION": location or None,
        "DEPARTMENT": department or None,
        "CLASSID": class_id or None,
        "GLDIMFUND": fund or None,
    }


def _post(
    store: Store,
    company: str,
    journal: str,
    batchno: int,
    day: date,
    title: str,
    reference: str,
    lines: list[Rec],
) -> None:
    moment = datetime.combine(day + timedelta(days=1), time(18, 30))
    statistical = journal == "STAT"
    header: Rec = {
        "BATCHNO": str(batchno),
        "BATCH_TITLE": title,
        "JOURNAL": journal,
        "BATCH_DATE": _d(day),
        "REFERENCENO": reference,
        "STATE": "Posted",
        "MODULE": "2.GL",
        "ADJ": "false",
    }
    (recordno,) = _insert(store, company, "GLBATCH", [header], moment)
    full: list[Rec] = []
    for n, line in enumerate(lines, start=1):
        rec = dict(line)
        rec.update(
            BATCHNO=str(recordno),
            LINE_NO=str(n),
            BATCH_NUMBER=str(batchno),
            BATCH_DATE=_d(day),
            BATCHTITLE=title,
            ENTRY_DATE=_d(day),
            AMOUNT=rec["TRX_AMOUNT"],
            STATISTICAL="T" if statistical else "F",
            CURRENCY=None if statistical else "USD",
            BASECURR=None if statistical else "USD",
            STATE="Posted",
        )
        full.append(rec)
    _insert(store, company, "GLENTRY", full, moment)


def _seed_nonprofit(store: Store, anchor: date, rng: random.Random) -> None:
    c = NONPROFIT
    setup = datetime.combine(anchor - timedelta(days=800), time(9, 0))
    _insert(
        store,
        c,
        "GLACCOUNT",
        [
            {
                "ACCOUNTNO": no,
                "TITLE": title,
                "ACCOUNTTYPE": kind,
                "NORMALBALANCE": normal,
                "CLOSINGTYPE": "non-closing account"
                if kind == "balancesheet"
                else "closing account",
                "CLOSINGACCOUNTNO": None if kind == "balancesheet" else "3000",
                "STATUS": "inactive" if no in _NP_INACTIVE_ACCOUNTS else "active",
                "REQUIREDEPT": "false",
                "REQUIRELOC": "false",
                "REQUIRECLASS": "false",
                "REQUIREGLDIMFUND": "false",
            }
            for no, title, kind, normal in _NP_ACCOUNTS
        ],
        setup,
    )
    _insert(
        store,
        c,
        "STATACCOUNT",
        [{"ACCOUNTNO": no, "TITLE": t, "ACCOUNTTYPE": k} for no, t, k in _NP_STAT],
        setup,
    )
    _insert(
        store,
        c,
        "GLJOURNAL",
        [
            {"SYMBOL": "GJ", "TITLE": "General Journal", "STATISTICAL": "false"},
            {"SYMBOL": "CRJ", "TITLE": "Cash Receipts Journal", "STATISTICAL": "false"},
            {"SYMBOL": "STAT", "TITLE": "Statistical Journal", "STATISTICAL": "true"},
            {
                "SYMBOL": "ADJ",
                "TITLE": "Adjusting Entries (retired)",
                "STATISTICAL": "false",
                "STATUS": "inactive",
            },
        ],
        setup,
    )
    _simple(
        store,
        c,
        "LOCATION",
        "LOCATIONID",
        "NAME",
        [
            ("HQ", "Headquarters"),
            ("NORTH", "North Region"),
            ("SOUTH", "South Region"),
            ("WEST", "West Region"),
        ],
        setup,
        inactive=["WEST"],
    )
    _simple(
        store,
        c,
        "DEPARTMENT",
        "DEPARTMENTID",
        "TITLE",
        [
            ("PROG", "Programs"),
            ("FUND", "Fundraising"),
            ("ADMIN", "Administration"),
            ("EVENTS", "Events"),
        ],
        setup,
    )
    _simple(
        store,
        c,
        "CLASS",
        "CLASSID",
        "NAME",
        [
            ("UNRESTRICTED", "Without Donor Restrictions"),
            ("RESTRICTED", "With Donor Restrictions"),
            ("EDU", "Education Programs"),
            ("HEALTH", "Health Programs"),
            ("ARTS", "Arts Programs"),
        ],
        setup,
        inactive=["ARTS"],
    )
    funds = _udd(store, c, "FUND", ("GENERAL", "CAPITAL", "SCHOLARSHIP", "ENDOWMENT"), setup)
    days = [*_months(anchor, 24), anchor]
    donors = 1800
    for n, day in enumerate(days, start=1):
        growth = Decimal(1) + Decimal(n) * Decimal("0.006")
        season = _SEASON.get(day.month, Decimal(1))
        label = day.strftime("%b %Y")
        ref = day.strftime("%Y-%m")
        revenue: list[Rec] = []
        cash: dict[str, Decimal] = {}
        for account, base, dept, cls, fund, months in _NP_REVENUE:
            if months is not None and day.month not in months:
                continue
            total = Decimal(base) * growth * season * Decimal(rng.randint(88, 112)) / 100
            for loc, share in _LOC_SHARE:
                amount = (total * share).quantize(CENT)
                cash[loc] = cash.get(loc, Decimal(0)) + amount
                revenue.append(
                    _line(account, -1, amount, f"{label} receipts", loc, dept, cls, funds[fund])
                )
        debits = [_line("1000", 1, cash[loc], f"{label} deposits", loc) for loc, _ in _LOC_SHARE]
        _post(store, c, "CRJ", n, day, f"Contributions {label}", f"CRJ-{ref}", debits + revenue)
        expense: list[Rec] = []
        paid: dict[str, Decimal] = {}
        for account, base, dept, cls, months in _NP_EXPENSE:
            if months is not None and day.month not in months:
                continue
            total = Decimal(base) * growth * Decimal(rng.randint(92, 108)) / 100
            for loc, share in _LOC_SHARE:
                amount = (total * share).quantize(CENT)
                paid[loc] = paid.get(loc, Decimal(0)) + amount
                expense.append(
                    _line(account, 1, amount, f"{label} expenses", loc, dept, cls, funds["GENERAL"])
                )
        credits = [
            _line("1000", -1, paid[loc], f"{label} disbursements", loc) for loc, _ in _LOC_SHARE
        ]
        _post(store, c, "GJ", n, day, f"Expenses {label}", f"GJ-{ref}", expense + credits)
        new = rng.randint(40, 90) + (60 if day.month == 12 else 0)
        lapsed = rng.randint(20, 50)
        donors += new - lapsed
        stats = [
            ("9000", 1, new),
            ("9000", -1, lapsed),
            ("9010", 1, int(donors * 0.42)),
            ("9020", 1, rng.randint(25, 40)),
            ("9030", 1, new),
            ("9040", 1, lapsed),
            ("9050", 1, rng.randint(600, 700)),
        ]
        stat_lines: list[Rec] = [
            {
                "ACCOUNTNO": a,
                "TR_TYPE": str(t),
                "TRX_AMOUNT": str(v),
                "DESCRIPTION": f"{label} donor counts",
                "LOCATION": "HQ",
            }
            for a, t, v in stats
        ]
        _post(store, c, "STAT", n, day, f"Donor statistics {label}", f"STAT-{ref}", stat_lines)


# -- DEMO-ITSERVICES ----------------------------------------------------------------------------

_IT_ACCOUNTS: list[tuple[str, str, str, str]] = [
    ("1000", "Cash - Operating", "balancesheet", "debit"),
    ("1100", "Accounts Receivable", "balancesheet", "debit"),
    ("1150", "Allowance for Doubtful Accounts", "balancesheet", "credit"),
    ("1200", "Undeposited Funds", "balancesheet", "debit"),
    ("1500", "Prepaid Expenses", "balancesheet", "debit"),
    ("2000", "Accounts Payable", "balancesheet", "credit"),
    ("2100", "Accrued Liabilities", "balancesheet", "credit"),
    ("2200", "Deferred Revenue", "balancesheet", "credit"),
    ("2300", "Sales Tax Payable", "balancesheet", "credit"),
    ("3000", "Retained Earnings", "balancesheet", "credit"),
    ("3100", "Common Stock", "balancesheet", "credit"),
    ("4000", "Services Revenue", "incomestatement", "credit"),
    ("4100", "Software Revenue", "incomestatement", "credit"),
    ("4200", "Support Revenue", "incomestatement", "credit"),
    ("4300", "Training Revenue", "incomestatement", "credit"),
    ("4900", "Discounts Given", "incomestatement", "debit"),
    ("5000", "Cost of Services", "incomestatement", "debit"),
    ("5100", "Subcontractor Costs", "incomestatement", "debit"),
    ("5200", "Hosting Costs", "incomestatement", "debit"),
    ("6000", "Salaries", "incomestatement", "debit"),
    ("6100", "Rent", "incomestatement", "debit"),
    ("6200", "Software Subscriptions", "incomestatement", "debit"),
    ("6300", "Travel", "incomestatement", "debit"),
    ("6900", "Bad Debt Expense", "incomestatement", "debit"),
]
#: id, name, contact first/last, city, state, zip, status
_IT_CUSTOMERS: list[tuple[str, str, str, str, str, str, str]] = [
    ("C1001", "Acme Robotics Inc.", "Dana", "Whitfield", "Boston", "MA", "02110"),
    ("C1002", "ACME Robotics, Inc", "Dana", "Whitfield", "Boston", "MA", "02110"),
    ("C1003", "Northwind Traders", "Luis", "Moreno", "Seattle", "WA", "98101"),
    ("C1004", "Northwind Traders LLC", "Luis", "Moreno", "Seattle", "WA", "98104"),
    ("C1005", "Blue Harbor Logistics", "Priya", "Natarajan", "Baltimore", "MD", "21202"),
    ("C1006", "Cedar Ridge Dental Group", "Tom", "Becker", "Denver", "CO", "80202"),
    ("C1007", "Granite State Credit Union", "Helen", "Okafor", "Manchester", "NH", "03101"),
    ("C1008", "Lakeside Family Clinic", "Mark", "Jensen", "Madison", "WI", "53703"),
    ("C1009", "Summit Legal Partners", "Rachel", "Stein", "Chicago", "IL", "60603"),
    ("C1010", "Brightpath Charter Schools", "Andre", "Dubois", "Atlanta", "GA", "30303"),
    ("C1011", "Pioneer Valley Realty", "Kim", "Tran", "Springfield", "MA", "01103"),
    ("C1012", "Redwood Analytics", "Sofia", "Lindqvist", "San Jose", "CA", "95113"),
    ("C1013", "Harborview Hotels", "James", "O'Neill", "Portland", "ME", "04101"),
    ("C1014", "Metro Transit Authority", "Grace", "Liu", "Philadelphia", "PA", "19107"),
    ("C1015", "Silverline Manufacturing", "Omar", "Haddad", "Cleveland", "OH", "44113"),
    ("C1016", "Evergreen Accounting", "Nina", "Kowalski", "Portland", "OR", "97204"),
    ("C1017", "Coastal Veterinary Hospital", "Ben", "Alvarez", "Charleston", "SC", "29401"),
    ("C1018", "Orchard Street Bakery", "Lucy", "Martin", "Burlington", "VT", "05401"),
    ("C1019", "Keystone Engineering", "Raj", "Patel", "Pittsburgh", "PA", "15222"),
    ("C1020", "Meridian Health Partners", "Ella", "Schmidt", "Nashville", "TN", "37203"),
    ("C1021", "Tidewater Marine Supply", "Carl", "Nguyen", "Norfolk", "VA", "23510"),
    ("C1022", "Prairie Wind Energy", "Ivy", "Anderson", "Omaha", "NE", "68102"),
    ("C1023", "Copperfield Architects", "Leo", "Rossi", "Providence", "RI", "02903"),
    ("C1024", "Old Mill Hardware", "Ruth", "Carter", "Hartford", "CT", "06103"),
    ("C1025", "Starlight Media Group", "Zoe", "Fischer", "Austin", "TX", "78701"),
]
_IT_INACTIVE_CUSTOMERS = ("C1002", "C1024")
#: id, name, type, base price, status
_IT_ITEMS: list[tuple[str, str, str]] = [
    ("SVC-CONSULT", "Consulting Hour", "175.00"),
    ("SVC-PM", "Project Management Hour", "150.00"),
    ("SVC-IMPL", "Implementation Package", "12000.00"),
    ("SVC-TRAIN", "On-site Training Day", "1800.00"),
    ("SUB-MSP-BASIC", "Managed Services Basic (monthly)", "1500.00"),
    ("SUB-MSP-PRO", "Managed Services Pro (monthly)", "3500.00"),
    ("SUB-BACKUP", "Cloud Backup (monthly)", "250.00"),
    ("SUB-M365", "Microsoft 365 Seat (monthly)", "22.00"),
    ("SUP-GOLD", "Support Plan Gold (monthly)", "900.00"),
    ("SUP-SILVER", "Support Plan Silver (monthly)", "450.00"),
    ("LIC-SEC", "Security Suite License (annual)", "4800.00"),
    ("HW-SETUP", "Hardware Setup Fee", "350.00"),
]
_IT_INACTIVE_ITEMS = ("HW-SETUP",)
_PAY_METHODS = ("EFT", "Printed Check", "Credit Card", "Online ACH Debit")


def _seed_itservices(store: Store, anchor: date, rng: random.Random) -> None:
    c = ITSERVICES
    setup = datetime.combine(anchor - timedelta(days=800), time(9, 0))
    _insert(
        store,
        c,
        "GLACCOUNT",
        [
            {
                "ACCOUNTNO": no,
                "TITLE": title,
                "ACCOUNTTYPE": kind,
                "NORMALBALANCE": normal,
                "CLOSINGTYPE": "non-closing account"
                if kind == "balancesheet"
                else "closing account",
                "STATUS": "inactive" if no == "6300" else "active",
            }
            for no, title, kind, normal in _IT_ACCOUNTS
        ],
        setup,
    )
    _insert(
        store,
        c,
        "STATACCOUNT",
        [
            {"ACCOUNTNO": "9100", "TITLE": "Billable Hours", "ACCOUNTTYPE": "forperiod"},
            {"ACCOUNTNO": "9200", "TITLE": "Managed Endpoints", "ACCOUNTTYPE": "cumulative"},
        ],
        setup,
    )
    _insert(
        store,
        c,
        "GLJOURNAL",
        [
            {"SYMBOL": "GJ", "TITLE": "General Journal", "STATISTICAL": "false"},
            {"SYMBOL": "ARJ", "TITLE": "Accounts Receivable Journal", "STATISTICAL": "false"},
            {"SYMBOL": "SJ", "TITLE": "Statistical Journal", "STATISTICAL": "true"},
        ],
        setup,
    )
    _simple(
        store,
        c,
        "LOCATION",
        "LOCATIONID",
        "NAME",
        [("HQ", "Boston Office"), ("REMOTE", "Remote Delivery")],
        setup,
    )
    _simple(
        store,
        c,
        "DEPARTMENT",
        "DEPARTMENTID",
        "TITLE",
        [
            ("CONSULT", "Consulting"),
            ("SUPPORT", "Support"),
            ("SALES", "Sales"),
            ("ADMIN", "Administration"),
        ],
        setup,
    )
    _simple(
        store,
        c,
        "CLASS",
        "CLASSID",
        "NAME",
        [("MANAGED", "Managed Services"), ("PROJECT", "Project Work"), ("LICENSE", "Licensing")],
        setup,
    )
    _udd(store, c, "FUND", ("GENERAL",), setup)
    customers: list[Rec] = []
    for cid, name, first, last, city, state, zipcode in _IT_CUSTOMERS:
        domain = "".join(ch for ch in name.lower().split(",")[0] if ch.isalnum())[:18]
        customers.append(
            {
                "CUSTOMERID": cid,
                "NAME": name,
                "DISPLAYCONTACT.PRINTAS": name,
                "DISPLAYCONTACT.CONTACTNAME": f"{name} ({cid})",
                "DISPLAYCONTACT.COMPANYNAME": name,
                "DISPLAYCONTACT.FIRSTNAME": first,
                "DISPLAYCONTACT.LASTNAME": last,
                "DISPLAYCONTACT.PHONE1": f"555-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
                "DISPLAYCONTACT.EMAIL1": f"{first.lower()}.{last.lower().replace(chr(39), '')}@{domain}.example.com",
                "DISPLAYCONTACT.MAILADDRESS.ADDRESS1": f"{rng.randint(10, 999)} {rng.choice(['Main', 'State', 'Harbor', 'Elm', 'Market'])} St",
                "DISPLAYCONTACT.MAILADDRESS.CITY": city,
                "DISPLAYCONTACT.MAILADDRESS.STATE": state,
                "DISPLAYCONTACT.MAILADDRESS.ZIP": zipcode,
                "DISPLAYCONTACT.MAILADDRESS.COUNTRY": "United States",
                "DISPLAYCONTACT.MAILADDRESS.COUNTRYCODE": "US",
                "STATUS": "inactive" if cid in _IT_INACTIVE_CUSTOMERS else "active",
                "ONETIME": "false",
                "CUSTTYPE": rng.choice(["Managed", "Project", "Managed"]),
                "TERMNAME": "N30",
                "CREDITLIMIT": str(rng.choice([10000, 25000, 50000])),
                "ONHOLD": "false",
                "CURRENCY": "USD",
            }
        )
    for i, rec in enumerate(customers):
        _insert(store, c, "CUSTOMER", [rec], setup + timedelta(days=3 * i))
    _insert(
        store,
        c,
        "ITEM",
        [
            {
                "ITEMID": iid,
                "NAME": name,
                "ITEMTYPE": "Non-Inventory (Sales only)",
                "BASEPRICE": price,
                "TAXABLE": "false",
                "STATUS": "inactive" if iid in _IT_INACTIVE_ITEMS else "active",
            }
            for iid, name, price in _IT_ITEMS
        ],
        setup,
    )
    prices = {iid: Decimal(price) for iid, _, price in _IT_ITEMS}
    names = {iid: name for iid, name, _ in _IT_ITEMS}
    active_customers = [row for row in _IT_CUSTOMERS if row[0] not in _IT_INACTIVE_CUSTOMERS]
    sellable = [iid for iid, _, _ in _IT_ITEMS if iid not in _IT_INACTIVE_ITEMS]
    _seed_sales_orders(store, anchor, rng, active_customers, sellable, prices, names)
    _seed_invoices(store, anchor, rng, active_customers, sellable, prices)


def _seed_sales_orders(
    store: Store,
    anchor: date,
    rng: random.Random,
    customers: Sequence[tuple[str, ...]],
    items: Sequence[str],
    prices: Mapping[str, Decimal],
    names: Mapping[str, str],
) -> None:
    for n in range(1, 7):
        day = anchor - timedelta(days=150 - 25 * n)
        cust = customers[(n * 3) % len(customers)]
        chosen = rng.sample(list(items), 2)
        lines: list[Rec] = []
        subtotal = Decimal(0)
        for pos, iid in enumerate(chosen):
            qty = Decimal(rng.choice([1, 2, 5, 10, 20]))
            total = (qty * prices[iid]).quantize(CENT)
            subtotal += total
            lines.append(
                {
                    "LINE_NO": str(pos),
                    "ITEMID": iid,
                    "ITEMDESC": names[iid],
                    "QUANTITY": str(qty),
                    "UNIT": "Each",
                    "PRICE": _money(prices[iid]),
                    "UIPRICE": _money(prices[iid]),
                    "TOTAL": _money(total),
                    "UIVALUE": _money(total),
                }
            )
        docid = f"Sales Order-SO{n:04d}"
        header: Rec = {
            "DOCID": docid,
            "DOCNO": f"SO{n:04d}",
            "DOCPARID": "Sales Order",
            "STATE": "Closed" if n <= 3 else "Pending",
            "WHENCREATED": _d(day),
            "WHENDUE": _d(day + timedelta(days=30)),
            "CUSTVENDID": cust[0],
            "CUSTVENDNAME": cust[1],
            "PONUMBER": f"PO-{4400 + n}",
            "TERMNAME": "N30",
            "CURRENCY": "USD",
            "BASECURR": "USD",
            "SUBTOTAL": _money(subtotal),
            "TOTAL": _money(subtotal),
        }
        moment = datetime.combine(day, time(11, 15))
        (recordno,) = _insert(store, ITSERVICES, "SODOCUMENT", [header], moment)
        for line in lines:
            line.update(DOCHDRNO=str(recordno), DOCHDRID=docid)
        _insert(store, ITSERVICES, "SODOCUMENTENTRY", lines, moment)


def _seed_invoices(
    store: Store,
    anchor: date,
    rng: random.Random,
    customers: Sequence[tuple[str, ...]],
    items: Sequence[str],
    prices: Mapping[str, Decimal],
) -> None:
    c = ITSERVICES
    due_by_customer: dict[str, Decimal] = {}
    for i in range(60):
        created = anchor - timedelta(days=270 - (i * 9) // 2)
        due = created + timedelta(days=30)
        cust = customers[(i * 7) % len(customers)]
        total = Decimal(0)
        for iid in rng.sample(list(items), rng.randint(1, 3)):
            total += prices[iid] * rng.choice([1, 1, 2, 4, 8])
        total = total.quantize(CENT)
        kind = "open" if i % 5 == 0 else ("partial" if i % 5 == 1 else "paid")
        if due >= anchor and i % 4:
            kind = "open"
        paid_on: date | None = None
        paid = Decimal(0)
        if kind == "paid":
            paid_on = min(due + timedelta(days=rng.randint(-20, 25)), anchor)
            paid_on = max(paid_on, created + timedelta(days=1))
            paid = total
        elif kind == "partial":
            paid = (total * Decimal(rng.randint(30, 70)) / 100).quantize(CENT)
        state = {"open": "Posted", "partial": "Partially Paid", "paid": "Paid"}[kind]
        touched = paid_on or created
        rec: Rec = {
            "RECORDTYPE": "arinvoice",
            "RECORDID": f"INV-{1001 + i}",
            "STATE": state,
            "CUSTOMERID": cust[0],
            "CUSTOMERNAME": cust[1],
            "DOCNUMBER": f"INV-{1001 + i}",
            "DESCRIPTION": f"Services for {cust[1]}",
            "TERMNAME": "N30",
            "WHENCREATED": _d(created),
            "WHENPOSTED": _d(created),
            "WHENDUE": _d(due),
            "WHENPAID": _d(paid_on) if paid_on else None,
            "BASECURR": "USD",
            "CURRENCY": "USD",
            "TOTALENTERED": _money(total),
            "TOTALPAID": _money(paid),
            "TOTALDUE": _money(total - paid),
            "TRX_TOTALENTERED": _money(total),
            "TRX_TOTALPAID": _money(paid),
            "TRX_TOTALDUE": _money(total - paid),
            "MODULEKEY": "4.AR",
        }
        moment = datetime.combine(touched, time(9 + i % 8, (i * 13) % 60))
        _insert(store, c, "ARINVOICE", [rec], moment)
        due_by_customer[cust[0]] = due_by_customer.get(cust[0], Decimal(0)) + total - paid
        if paid:
            receipt = paid_on or min(created + timedelta(days=20), anchor)
            pay: Rec = {
                "CUSTOMERID": cust[0],
                "CUSTOMERNAME": cust[1],
                "PAYMENTMETHOD": _PAY_METHODS[i % len(_PAY_METHODS)],
                "DOCNUMBER": f"{7000 + i}",
                "DESCRIPTION": f"Payment for INV-{1001 + i}",
                "RECEIPTDATE": _d(receipt),
                "PAYMENTDATE": _d(receipt),
                "WHENCREATED": _d(receipt),
                "CURRENCY": "USD",
                "BASECURR": "USD",
                "UNDEPOSITEDACCOUNTNO": "1200",
                "TOTALENTERED": _money(paid),
                "TRX_TOTALENTERED": _money(paid),
                "STATE": "Posted",
            }
            _insert(store, c, "ARPYMT", [pay], datetime.combine(receipt, time(15, 0)))
    customer = OBJECTS["CUSTOMER"]
    for row in store.rows(c, customer):
        cid = row[customer.columns.index("CUSTOMERID")] or ""
        due_total = due_by_customer.get(cid, Decimal(0))
        store.update(c, customer, int(row[0] or 0), {"TOTALDUE": _money(due_total)})


def seed_all(store: Store, anchor: date) -> None:
    """Seed both demo companies (the caller holds the store lock and a transaction)."""
    _seed_nonprofit(store, anchor, random.Random(1001))
    _seed_itservices(store, anchor, random.Random(2002))


def seed_gl_entries(store: Store, company: str, n: int, lines_per_batch: int = 10) -> int:
    """Add ``n`` GLENTRY lines in balanced GJ batches (bulk inserts; the caller holds the lock
    and a transaction). Returns the number of batches.

    Raises:
        ValueError: ``n`` < 2 or ``lines_per_batch`` < 2 (one line cannot balance).
    """
    if n < 2 or lines_per_batch < 2:
        raise ValueError("need at least 2 lines, and at least 2 lines per batch")
    batch_obj, entry_obj, account_obj = OBJECTS["GLBATCH"], OBJECTS["GLENTRY"], OBJECTS["GLACCOUNT"]
    accounts = sorted(k for k, v in store.id_status(company, account_obj).items() if v == "active")
    if not accounts:
        raise ValueError(f"company {company} has no active GL account")
    sizes = [lines_per_batch] * (n // lines_per_batch)
    rest = n % lines_per_batch
    if rest == 1:
        sizes[-1] += 1
    elif rest:
        sizes.append(rest)
    rng = random.Random(n)
    today = datetime.now().astimezone().replace(tzinfo=None, microsecond=0)
    stamp = _ts(today)
    first_batchno = store.max_int(company, batch_obj, "BATCHNO", {"JOURNAL": "GJ"}) + 1
    headers: list[Rec] = []
    days: list[str] = []
    for b in range(len(sizes)):
        day = _d(today.date() - timedelta(days=b % 730))
        days.append(day)
        headers.append(
            {
                "BATCHNO": str(first_batchno + b),
                "BATCH_TITLE": f"Bulk entry {b + 1}",
                "JOURNAL": "GJ",
                "BATCH_DATE": day,
                "REFERENCENO": f"BULK-{b + 1}",
                "STATE": "Posted",
                "MODULE": "2.GL",
                "ADJ": "false",
                "WHENCREATED": stamp,
                "WHENMODIFIED": stamp,
                "CREATEDBY": "1",
                "MODIFIEDBY": "1",
            }
        )
    recordnos = store.insert_many(company, batch_obj, headers)
    lines: list[Rec] = []
    for b, size in enumerate(sizes):
        total = 0
        for pos in range(size):
            if pos < size - 1:
                cents = rng.randint(100, 500000)
                total += cents
                tr_type = "1"
            else:
                cents, tr_type = total, "-1"
            amount = f"{cents // 100}.{cents % 100:02d}"
            lines.append(
                {
                    "BATCHNO": str(recordnos[b]),
                    "LINE_NO": str(pos + 1),
                    "BATCH_NUMBER": str(first_batchno + b),
                    "BATCH_DATE": days[b],
                    "BATCHTITLE": f"Bulk entry {b + 1}",
                    "STATISTICAL": "F",
                    "BASECURR": "USD",
                    "ENTRY_DATE": days[b],
                    "ACCOUNTNO": accounts[(b + pos) % len(accounts)],
                    "TR_TYPE": tr_type,
                    "TRX_AMOUNT": amount,
                    "AMOUNT": amount,
                    "CURRENCY": "USD",
                    "DESCRIPTION": f"Bulk line {pos + 1}",
                    "STATE": "Posted",
                    "WHENCREATED": stamp,
                    "WHENMODIFIED": stamp,
                    "CREATEDBY": "1",
                    "MODIFIEDBY": "1",
                }
            )
    store.insert_many(company, entry_obj, lines)
    return len(sizes)
