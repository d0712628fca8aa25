// A QuickFIX (1.15, Debian's libquickfix-dev) initiator that trades with the gateway over
// two sessions, a buyer and a seller, with QuickFIX validating every message the gateway
// sends against the FIX 4.4 data dictionary (FIX44.xml). Run by
// tests/test_quickfix_interop.py, which builds it with g++ (C++14: QuickFIX 1.15's headers
// use dynamic exception specifications, which C++17 removed).
//
// The scenario (prices P1 > P2 > P3 from --prices):
//   1. both sessions log on (the buyer with a Password 554 when one is given);
//   2. buyer: B1 buy 1 @ P1 GTC and B2 buy 1 @ P2 GTC, each acknowledged (150=0);
//   3. seller: S1 sell 1.5 @ P2 GTC crosses both: the seller gets New, then fills of 1 @ P1
//      and 0.5 @ P2 (AvgPx (P1 + 0.5 P2) / 1.5); the buyer gets B1 filled and B2 partially;
//   4. buyer: replace B2 (B3: OrderQty 2 in all) -> Replaced, still partially filled;
//   5. buyer: B4 buy 1 @ P3, replaced by B5 (3 @ P3 - 1) -> Replaced, then cancelled (B6)
//      -> Canceled;
//   6. buyer: cancel an unknown order -> OrderCancelReject (9), CxlRejReason 1;
//   7. buyer: an order off the tick (P3 + 0.001) -> Rejected (150=8, OrdRejReason 99);
//   8. optionally (--market-data) the seller asks for a snapshot of the symbol -> W with the
//      one resting bid, and of an unknown symbol -> MarketDataRequestReject (Y, 281=0);
//   9. both sessions log out, and the gateway answers each Logout.
// One line per received message on stdout. Exit status 0 only if every expected message
// arrived with the expected fields, nothing unexpected came, and no Reject (3) or
// BusinessMessageReject (j) was sent or received: QuickFIX answers a message that fails its
// validation with a Reject, which this program counts as a failure. Every wait is bounded
// by --timeout seconds in all (default 10), and logging out by 3 more. Exit status 1: a
// failed expectation, 2: usage.

#include <quickfix/Application.h>
#include <quickfix/FileLog.h>
#include <quickfix/FileStore.h>
#include <quickfix/Session.h>
#include <quickfix/SessionSettings.h>
#include <quickfix/SocketInitiator.h>
#include <quickfix/fix44/MarketDataRequest.h>
#include <quickfix/fix44/NewOrderSingle.h>
#include <quickfix/fix44/OrderCancelReplaceRequest.h>
#include <quickfix/fix44/OrderCancelRequest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string target = "LFT";
  std::string buyer = "ALICE";
  std::string buyer_password;
  std::string seller = "BOB";
  std::string symbol;
  double p1 = 0, p2 = 0, p3 = 0;
  std::string spec;
  std::string dir;
  double timeout = 10;
  bool market_data = false;
};

// The tags printed for each received message (when present).
const std::vector<std::pair<int, const char*>> kPrinted = {
    {11, "ClOrdID"},   {41, "OrigClOrdID"}, {150, "ExecType"}, {39, "OrdStatus"},
    {54, "Side"},      {38, "OrderQty"},    {44, "Price"},     {31, "LastPx"},
    {32, "LastQty"},   {14, "CumQty"},      {151, "LeavesQty"}, {6, "AvgPx"},
    {103, "OrdRejReason"}, {434, "CxlRejResponseTo"}, {102, "CxlRejReason"},
    {268, "NoMDEntries"}, {281, "MDReqRejReason"},
    {108, "HeartBtInt"}, {141, "ResetSeqNumFlag"}, {45, "RefSeqNum"}, {371, "RefTagID"},
    {372, "RefMsgType"}, {373, "SessionRejectReason"}, {58, "Text"}};

// Names of the fields printed inside repeating groups (others print as their tag number).
const std::map<int, const char*> kGroupFields = {
    {269, "MDEntryType"}, {270, "MDEntryPx"}, {271, "MDEntrySize"}, {346, "NumberOfOrders"},
    {290, "MDEntryPositionNo"}};

// `MsgType Name=value...`, then each group entry's fields as `Group.N.Name=value`.
std::string describe(const FIX::Message& m) {
  std::ostringstream out;
  out << m.getHeader().getField(FIX::FIELD::MsgType);
  for (const auto& f : kPrinted) {
    if (m.isSetField(f.first)) out << ' ' << f.second << '=' << m.getField(f.first);
  }
  for (auto g = m.g_begin(); g != m.g_end(); ++g) {
    std::string group = std::to_string(g->first);
    for (const auto& f : kPrinted) {
      if (f.first == g->first) group = f.second;
    }
    for (size_t i = 0; i < g->second.size(); ++i) {
      for (const auto& field : *g->second[i]) {
        const auto name = kGroupFields.find(field.getTag());
        out << ' ' << group << '.' << (i + 1) << '.'
            << (name == kGroupFields.end() ? std::to_string(field.getTag()) : name->second) << '='
            << field.getString();
      }
    }
  }
  return out.str();
}

class Initiator : public FIX::Application {
 public:
  explicit Initiator(const Options& o) : options_(o) {}

  // Wait for the next application message of `session` (or nothing by the deadline, or
  // once a Reject was sent or received: the message it refused never comes).
  bool next(const FIX::SessionID& session, FIX::Message& out, Clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mutex_);
    auto& queue = inbox_[session.getSenderCompID().getValue()];
    cv_.wait_until(lock, deadline, [&] { return !queue.empty() || rejected_; });
    if (queue.empty()) return false;
    out = queue.front();
    queue.pop_front();
    return true;
  }

  // Wait until `pred` holds (or the deadline passes).
  template <class Pred>
  bool wait(Pred pred, Clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_until(lock, deadline, [&] { return pred(*this); });
  }

  void fail(const std::string& why, bool reject = false) {
    std::lock_guard<std::mutex> lock(mutex_);
    errors_.push_back(why);
    rejected_ = rejected_ || reject;
    std::cout << "ERROR " << why << std::endl;
    cv_.notify_all();
  }

  // Application messages received but never expected.
  std::vector<std::string> unexpected() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::string> out;
    for (const auto& box : inbox_) {
      for (const auto& m : box.second) out.push_back(box.first + ": " + describe(m));
    }
    return out;
  }

  std::vector<std::string> errors() {
    std::lock_guard<std::mutex> lock(mutex_);
    return errors_;
  }

  // Read under the lock (from `wait` predicates).
  std::set<std::string> logged_on, logout_received;

 private:
  void onCreate(const FIX::SessionID&) override {}

  void onLogon(const FIX::SessionID& s) override {
    std::lock_guard<std::mutex> lock(mutex_);
    std::cout << "LOGON " << s.getSenderCompID() << std::endl;
    logged_on.insert(s.getSenderCompID().getValue());
    cv_.notify_all();
  }

  void onLogout(const FIX::SessionID& s) override {
    std::lock_guard<std::mutex> lock(mutex_);
    std::cout << "LOGOUT " << s.getSenderCompID() << std::endl;
    logged_on.erase(s.getSenderCompID().getValue());
    cv_.notify_all();
  }

  void toAdmin(FIX::Message& m, const FIX::SessionID& s) override {
    const std::string type = m.getHeader().getField(FIX::FIELD::MsgType);
    if (type == "A" && s.getSenderCompID().getValue() == options_.buyer && !options_.buyer_password.empty()) {
      m.setField(FIX::Password(options_.buyer_password));
    }
    if (type == "3") {
      // QuickFIX refusing something the gateway sent: the conformance finding.
      fail("QuickFIX sent a Reject (3) on " + s.getSenderCompID().getValue() + ": " + describe(m), true);
    }
  }

  void toApp(FIX::Message& m, const FIX::SessionID& s) throw(FIX::DoNotSend) override {
    if (m.getHeader().getField(FIX::FIELD::MsgType) == "j") {
      fail("QuickFIX sent a BusinessMessageReject (j) on " + s.getSenderCompID().getValue() + ": " +
           describe(m), true);
    }
  }

  void fromAdmin(const FIX::Message& m, const FIX::SessionID& s) throw(
      FIX::FieldNotFound, FIX::IncorrectDataFormat, FIX::IncorrectTagValue, FIX::RejectLogon) override {
    const std::string who = s.getSenderCompID().getValue();
    const std::string type = m.getHeader().getField(FIX::FIELD::MsgType);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      std::cout << "RECV " << who << ' ' << describe(m) << std::endl;
      if (type == "5") logout_received.insert(who);
      cv_.notify_all();
    }
    if (type == "3") fail("the gateway sent a Reject (3) on " + who + ": " + describe(m), true);
  }

  void fromApp(const FIX::Message& m, const FIX::SessionID& s) throw(
      FIX::FieldNotFound, FIX::IncorrectDataFormat, FIX::IncorrectTagValue,
      FIX::UnsupportedMessageType) override {
    const std::string who = s.getSenderCompID().getValue();
    std::lock_guard<std::mutex> lock(mutex_);
    std::cout << "RECV " << who << ' ' << describe(m) << std::endl;
    inbox_[who].push_back(m);
    cv_.notify_all();
  }

  const Options& options_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::map<std::string, std::deque<FIX::Message>> inbox_;
  std::vector<std::string> errors_;
  bool rejected_ = false;
};

using Numbers = std::vector<std::pair<int, double>>;

// What one expected message must carry: text fields compared exactly, numbers (quantities,
// prices) compared as decimals within 1e-9; `entry`: numbers of the first entry of repeating
// group `group`.
struct Expect {
  std::string msg_type;
  std::vector<std::pair<int, std::string>> text;
  Numbers numbers;
  int group = 0;
  Numbers entry = {};
};

// Adds to `wrong` each of `numbers` that `fields` lacks or holds another value of.
void check_numbers(const FIX::FieldMap& fields, const Numbers& numbers, std::ostringstream& wrong) {
  for (const auto& f : numbers) {
    const int tag = f.first;
    const double value = f.second;
    if (!fields.isSetField(tag)) {
      wrong << " " << tag << " missing (expected " << value << ")";
      continue;
    }
    const std::string got = fields.getField(tag);
    char* end = nullptr;
    const double v = std::strtod(got.c_str(), &end);
    if (end == got.c_str() || *end != '\0' || std::fabs(v - value) > 1e-9 * std::max(1.0, std::fabs(value))) {
      wrong << " " << tag << "=" << got << " (expected " << value << ")";
    }
  }
}

class Scenario {
 public:
  Scenario(const Options& o, Initiator& app)
      : o_(o),
        app_(app),
        buyer_("FIX.4.4", o.buyer, o.target),
        seller_("FIX.4.4", o.seller, o.target),
        deadline_(Clock::now() + std::chrono::milliseconds(static_cast<long>(o.timeout * 1000))) {}

  bool run() {
    if (!app_.wait([&](Initiator& a) { return a.logged_on.size() == 2; }, deadline_)) {
      app_.fail("both sessions not logged on in time");
      return false;
    }
    const double p1 = o_.p1, p2 = o_.p2, p3 = o_.p3;
    const double avg = (p1 * 1 + p2 * 0.5) / 1.5;

    send(buyer_, order("B1", FIX::Side_BUY, 1, p1));
    expect(buyer_, er("B1", '0', '0', {{38, 1}, {44, p1}, {14, 0}, {151, 1}, {6, 0}}));
    send(buyer_, order("B2", FIX::Side_BUY, 1, p2));
    expect(buyer_, er("B2", '0', '0', {{38, 1}, {44, p2}, {14, 0}, {151, 1}, {6, 0}}));

    // The crossing sell: fills at the resting orders' prices, best first.
    send(seller_, order("S1", FIX::Side_SELL, 1.5, p2));
    expect(seller_, er("S1", '0', '0', {{38, 1.5}, {14, 0}, {151, 1.5}, {6, 0}}));
    expect(seller_, er("S1", 'F', '1', {{31, p1}, {32, 1}, {14, 1}, {151, 0.5}, {6, p1}}));
    expect(seller_, er("S1", 'F', '2', {{31, p2}, {32, 0.5}, {14, 1.5}, {151, 0}, {6, avg}}));
    expect(buyer_, er("B1", 'F', '2', {{31, p1}, {32, 1}, {14, 1}, {151, 0}, {6, p1}}));
    expect(buyer_, er("B2", 'F', '1', {{31, p2}, {32, 0.5}, {14, 0.5}, {151, 0.5}, {6, p2}}));

    // Replace the partially filled B2: OrderQty is the new total, CumQty stays.
    send(buyer_, replace("B3", "B2", 2, p2));
    expect(buyer_, er("B3", '5', '1', {{38, 2}, {44, p2}, {14, 0.5}, {151, 1.5}, {6, p2}}, "B2"));

    // Another order: replaced (new price and quantity), then cancelled.
    send(buyer_, order("B4", FIX::Side_BUY, 1, p3));
    expect(buyer_, er("B4", '0', '0', {{38, 1}, {44, p3}, {151, 1}}));
    send(buyer_, replace("B5", "B4", 3, p3 - 1));
    expect(buyer_, er("B5", '5', '0', {{38, 3}, {44, p3 - 1}, {14, 0}, {151, 3}}, "B4"));
    send(buyer_, cancel("B6", "B5"));
    expect(buyer_, er("B6", '4', '4', {{14, 0}, {151, 0}}, "B5"));

    // A cancel of an order that does not exist.
    send(buyer_, cancel("B7", "NO-SUCH-ORDER"));
    expect(buyer_, Expect{"9", {{11, "B7"}, {41, "NO-SUCH-ORDER"}, {434, "1"}, {102, "1"}}, {}});

    // An order the venue refuses: a well-formed price off the 0.01 tick.
    send(buyer_, order("B8", FIX::Side_BUY, 1, p3 + 0.001));
    expect(buyer_, Expect{"8", {{11, "B8"}, {150, "8"}, {39, "8"}, {103, "99"}}, {{14, 0}, {151, 0}}});

    if (o_.market_data) {
      // The resting remainder of B3: 1.5 bid at P2, no offers.
      send(seller_, snapshot_request("M1", o_.symbol));
      expect(seller_, Expect{"W", {{262, "M1"}, {55, o_.symbol}, {268, "1"}}, {}, 268, {{270, p2}, {271, 1.5}}});
      send(seller_, snapshot_request("M2", "NO-SUCH-SYMBOL"));
      expect(seller_, Expect{"Y", {{262, "M2"}, {281, "0"}}, {}});
    }

    for (auto* s : {&buyer_, &seller_}) {
      if (FIX::Session* session = FIX::Session::lookupSession(*s)) session->logout("done");
    }
    // Logging out gets its own few seconds, so a scenario that ran out of time still ends
    // cleanly and says what went wrong.
    const auto logout_deadline = std::max(deadline_, Clock::now() + std::chrono::seconds(3));
    if (!app_.wait([&](Initiator& a) { return a.logged_on.empty() && a.logout_received.size() == 2; },
                   logout_deadline)) {
      app_.fail("the gateway did not answer both Logouts in time");
    }
    for (const auto& m : app_.unexpected()) app_.fail("unexpected message on " + m);
    return app_.errors().empty();
  }

 private:
  static FIX::TransactTime now() { return FIX::TransactTime(FIX::UtcTimeStamp(), 3); }

  FIX44::NewOrderSingle order(const std::string& cl, char side, double qty, double px) {
    FIX44::NewOrderSingle m(FIX::ClOrdID(cl), FIX::Side(side), now(), FIX::OrdType(FIX::OrdType_LIMIT));
    m.set(FIX::Symbol(o_.symbol));
    m.set(FIX::OrderQty(qty));
    m.set(FIX::Price(px));
    m.set(FIX::TimeInForce(FIX::TimeInForce_GOOD_TILL_CANCEL));
    return m;
  }

  FIX44::OrderCancelReplaceRequest replace(const std::string& cl, const std::string& orig, double qty,
                                           double px) {
    FIX44::OrderCancelReplaceRequest m(FIX::OrigClOrdID(orig), FIX::ClOrdID(cl), FIX::Side(FIX::Side_BUY),
                                       now(), FIX::OrdType(FIX::OrdType_LIMIT));
    m.set(FIX::Symbol(o_.symbol));
    m.set(FIX::OrderQty(qty));
    m.set(FIX::Price(px));
    m.set(FIX::TimeInForce(FIX::TimeInForce_GOOD_TILL_CANCEL));
    return m;
  }

  FIX44::MarketDataRequest snapshot_request(const std::string& id, const std::string& symbol) {
    FIX44::MarketDataRequest m(FIX::MDReqID(id), FIX::SubscriptionRequestType('0'), FIX::MarketDepth(5));
    for (char type : {FIX::MDEntryType_BID, FIX::MDEntryType_OFFER}) {
      FIX44::MarketDataRequest::NoMDEntryTypes g;
      g.set(FIX::MDEntryType(type));
      m.addGroup(g);
    }
    FIX44::MarketDataRequest::NoRelatedSym sym;
    sym.set(FIX::Symbol(symbol));
    m.addGroup(sym);
    return m;
  }

  FIX44::OrderCancelRequest cancel(const std::string& cl, const std::string& orig) {
    FIX44::OrderCancelRequest m(FIX::OrigClOrdID(orig), FIX::ClOrdID(cl), FIX::Side(FIX::Side_BUY), now());
    m.set(FIX::Symbol(o_.symbol));
    return m;
  }

  // An ExecutionReport with its ClOrdID, ExecType, OrdStatus and numbers.
  Expect er(const std::string& cl, char exec_type, char status, std::vector<std::pair<int, double>> numbers,
            const std::string& orig = "") {
    Expect e{"8",
             {{11, cl}, {150, std::string(1, exec_type)}, {39, std::string(1, status)}, {55, o_.symbol}},
             std::move(numbers)};
    if (!orig.empty()) e.text.push_back({41, orig});
    return e;
  }

  void send(const FIX::SessionID& s, FIX::Message m) {
    if (!FIX::Session::sendToTarget(m, s)) app_.fail("could not send on " + s.getSenderCompID().getValue());
  }

  void expect(const FIX::SessionID& s, const Expect& e) {
    const std::string who = s.getSenderCompID().getValue();
    FIX::Message m;
    if (!app_.next(s, m, deadline_)) {
      app_.fail(who + ": no " + e.msg_type + " arrived (expected " + show(e) + ")");
      return;
    }
    std::ostringstream wrong;
    const std::string type = m.getHeader().getField(FIX::FIELD::MsgType);
    if (type != e.msg_type) wrong << " MsgType " << type << " (expected " << e.msg_type << ")";
    for (const auto& f : e.text) {
      const std::string got = m.isSetField(f.first) ? m.getField(f.first) : "<missing>";
      if (got != f.second) wrong << " " << f.first << "=" << got << " (expected " << f.second << ")";
    }
    check_numbers(m, e.numbers, wrong);
    if (e.group != 0) {
      const FIX::FieldMap& body = m;
      if (body.hasGroup(1, e.group)) {
        check_numbers(body.getGroupRef(1, e.group), e.entry, wrong);
      } else {
        wrong << " no entry in group " << e.group;
      }
    }
    if (!wrong.str().empty()) app_.fail(who + ": " + describe(m) + ":" + wrong.str());
  }

  static std::string show(const Expect& e) {
    std::ostringstream out;
    out << e.msg_type;
    for (const auto& f : e.text) out << ' ' << f.first << '=' << f.second;
    return out.str();
  }

  const Options& o_;
  Initiator& app_;
  FIX::SessionID buyer_, seller_;
  Clock::time_point deadline_;
};

int usage(const std::string& why) {
  std::cerr << "error: " << why << "\n"
            << "usage: quickfix_initiator --port N --symbol S --prices P1,P2,P3 --spec FIX44.xml --dir DIR\n"
            << "  [--host 127.0.0.1] [--target LFT] [--buyer ALICE] [--buyer-password PW] [--seller BOB]\n"
            << "  [--timeout 10] [--market-data]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--market-data") {
      o.market_data = true;
      continue;
    }
    if (i + 1 >= argc) return usage(arg + " needs a value");
    const std::string v = argv[++i];
    if (arg == "--host") o.host = v;
    else if (arg == "--port") o.port = std::atoi(v.c_str());
    else if (arg == "--target") o.target = v;
    else if (arg == "--buyer") o.buyer = v;
    else if (arg == "--buyer-password") o.buyer_password = v;
    else if (arg == "--seller") o.seller = v;
    else if (arg == "--symbol") o.symbol = v;
    else if (arg == "--spec") o.spec = v;
    else if (arg == "--dir") o.dir = v;
    else if (arg == "--timeout") o.timeout = std::atof(v.c_str());
    else if (arg == "--prices") {
      if (std::sscanf(v.c_str(), "%lf,%lf,%lf", &o.p1, &o.p2, &o.p3) != 3) return usage("--prices P1,P2,P3");
    } else return usage("unknown argument " + arg);
  }
  if (o.port <= 0 || o.symbol.empty() || o.spec.empty() || o.dir.empty()) return usage("missing arguments");
  if (!(o.p1 > o.p2 && o.p2 > o.p3 && o.p3 - 1 > 0)) return usage("prices must be P1 > P2 > P3 > 1");

  try {
    FIX::SessionSettings settings;
    FIX::Dictionary defaults;
    defaults.setString(FIX::CONNECTION_TYPE, "initiator");
    defaults.setString(FIX::SOCKET_CONNECT_HOST, o.host);
    defaults.setInt(FIX::SOCKET_CONNECT_PORT, o.port);
    defaults.setInt(FIX::HEARTBTINT, 30);
    defaults.setInt(FIX::RECONNECT_INTERVAL, 60);  // one connection: a drop is a failure
    defaults.setString(FIX::START_TIME, "00:00:00");  // equal start and end: always in session
    defaults.setString(FIX::END_TIME, "00:00:00");
    defaults.setBool(FIX::RESET_ON_LOGON, true);
    defaults.setInt(FIX::LOGOUT_TIMEOUT, 5);
    // Validation on: every message the gateway sends is checked against FIX 4.4.
    defaults.setBool(FIX::USE_DATA_DICTIONARY, true);
    defaults.setString(FIX::DATA_DICTIONARY, o.spec);
    defaults.setBool(FIX::VALIDATE_LENGTH_AND_CHECKSUM, true);
    defaults.setBool(FIX::VALIDATE_FIELDS_OUT_OF_ORDER, true);
    defaults.setBool(FIX::VALIDATE_FIELDS_HAVE_VALUES, true);
    defaults.setBool(FIX::VALIDATE_USER_DEFINED_FIELDS, true);
    defaults.setBool(FIX::ALLOW_UNKNOWN_MSG_FIELDS, false);
    defaults.setBool(FIX::CHECK_LATENCY, true);
    defaults.setString(FIX::FILE_STORE_PATH, o.dir + "/store");
    defaults.setString(FIX::FILE_LOG_PATH, o.dir + "/log");
    settings.set(defaults);
    for (const auto& sender : {o.buyer, o.seller}) {
      settings.set(FIX::SessionID("FIX.4.4", sender, o.target), FIX::Dictionary());
    }

    Initiator app(o);
    FIX::FileStoreFactory store(settings);
    FIX::FileLogFactory log(settings);
    FIX::SocketInitiator initiator(app, store, settings, log);
    initiator.start();
    const bool ok = Scenario(o, app).run();
    initiator.stop();
    const auto errors = app.errors();
    std::cout << (ok && errors.empty() ? "PASS" : "FAIL") << " errors=" << errors.size() << std::endl;
    return ok && errors.empty() ? 0 : 1;
  } catch (const std::exception& e) {
    std::cout << "ERROR QuickFIX: " << e.what() << std::endl;
    std::cout << "FAIL" << std::endl;
    return 1;
  }
}
