package policy

import "github.com/hashicorp/hcl/v2"

// The raw* structs are the policy file as written: every attribute is kept as
// an *hcl.Attribute (expression plus source range) and every block keeps its
// definition range, so that validation in build.go can point each error at
// the exact file, line and column. Nothing here is used at run time.

type rawFile struct {
	Variables []rawVariables `hcl:"variables,block"`
	Defaults  []rawDefaults  `hcl:"defaults,block"`
	Trunks    []rawTrunk     `hcl:"trunk,block"`
	Routes    []rawRoute     `hcl:"route,block"`
	ACLs      []rawACL       `hcl:"acl,block"`
}

type rawVariables struct {
	Attrs    hcl.Attributes `hcl:",remain"`
	DefRange hcl.Range      `hcl:",def_range"`
}

type rawDefaults struct {
	RouteSelection *hcl.Attribute `hcl:"route_selection,optional"`
	NoRouteCode    *hcl.Attribute `hcl:"no_route_code,optional"`
	NoRouteReason  *hcl.Attribute `hcl:"no_route_reason,optional"`
	Limits         *rawLimits     `hcl:"limits,block"`
	DefRange       hcl.Range      `hcl:",def_range"`
}

type rawLimits struct {
	Calls    *hcl.Attribute `hcl:"calls,optional"`
	CallsIn  *hcl.Attribute `hcl:"calls_in,optional"`
	CallsOut *hcl.Attribute `hcl:"calls_out,optional"`
	CPSIn    *hcl.Attribute `hcl:"cps_in,optional"`
	CPSOut   *hcl.Attribute `hcl:"cps_out,optional"`
	DefRange hcl.Range      `hcl:",def_range"`
}

type rawTrunk struct {
	Name         string           `hcl:"name,label"`
	NameRange    hcl.Range        `hcl:"name,label_range"`
	Kind         *hcl.Attribute   `hcl:"kind,optional"`
	Interface    *hcl.Attribute   `hcl:"interface,optional"`
	Codecs       *hcl.Attribute   `hcl:"codecs,optional"`
	Match        *rawTrunkMatch   `hcl:"match,block"`
	Destinations []rawDestination `hcl:"destination,block"`
	Credentials  *rawCredentials  `hcl:"credentials,block"`
	Limits       *rawLimits       `hcl:"limits,block"`
	Media        *rawMedia        `hcl:"media,block"`
	Identity     *rawIdentity     `hcl:"identity,block"`
	Headers      *rawHeaderPolicy `hcl:"headers,block"`
	Keepalive    *rawKeepalive    `hcl:"keepalive,block"`
	Registrar    *rawRegistrar    `hcl:"registrar,block"`
	DefRange     hcl.Range        `hcl:",def_range"`
}

type rawTrunkMatch struct {
	Sources   *hcl.Attribute `hcl:"sources,optional"`
	Transport *hcl.Attribute `hcl:"transport,optional"`
	Port      *hcl.Attribute `hcl:"port,optional"`
	DefRange  hcl.Range      `hcl:",def_range"`
}

type rawDestination struct {
	Host      *hcl.Attribute `hcl:"host"`
	Port      *hcl.Attribute `hcl:"port,optional"`
	Transport *hcl.Attribute `hcl:"transport,optional"`
	DefRange  hcl.Range      `hcl:",def_range"`
}

type rawCredentials struct {
	Username *hcl.Attribute `hcl:"username"`
	Password *hcl.Attribute `hcl:"password"`
	Realm    *hcl.Attribute `hcl:"realm,optional"`
	DefRange hcl.Range      `hcl:",def_range"`
}

type rawMedia struct {
	Latching *hcl.Attribute `hcl:"latching,optional"`
	DefRange hcl.Range      `hcl:",def_range"`
}

type rawIdentity struct {
	Trusted  *hcl.Attribute `hcl:"trusted,optional"`
	Assert   *hcl.Attribute `hcl:"assert,optional"`
	Privacy  *hcl.Attribute `hcl:"privacy,optional"`
	DefRange hcl.Range      `hcl:",def_range"`
}

type rawHeaderPolicy struct {
	Pass     *hcl.Attribute `hcl:"pass,optional"`
	DefRange hcl.Range      `hcl:",def_range"`
}

type rawKeepalive struct {
	Method   *hcl.Attribute `hcl:"method,optional"`
	Interval *hcl.Attribute `hcl:"interval,optional"`
	DefRange hcl.Range      `hcl:",def_range"`
}

type rawRegistrar struct {
	Host             *hcl.Attribute `hcl:"host"`
	Port             *hcl.Attribute `hcl:"port,optional"`
	Transport        *hcl.Attribute `hcl:"transport,optional"`
	UAExpires        *hcl.Attribute `hcl:"ua_expires,optional"`
	RegistrarExpires *hcl.Attribute `hcl:"registrar_expires,optional"`
	DefRange         hcl.Range      `hcl:",def_range"`
}

type rawRoute struct {
	Name      string         `hcl:"name,label"`
	NameRange hcl.Range      `hcl:"name,label_range"`
	Trunks    *hcl.Attribute `hcl:"trunks,optional"`
	Match     *rawRouteMatch `hcl:"match,block"`
	Rewrites  []rawRewrite   `hcl:"rewrite,block"`
	Headers   []rawHeaderOp  `hcl:"header,block"`
	Failover  *rawFailover   `hcl:"failover,block"`
	Reject    *rawReject     `hcl:"reject,block"`
	DefRange  hcl.Range      `hcl:",def_range"`
}

type rawRouteMatch struct {
	FromTrunk *hcl.Attribute   `hcl:"from_trunk,optional"`
	RURIUser  *rawUserMatch    `hcl:"ruri_user,block"`
	FromUser  *rawUserMatch    `hcl:"from_user,block"`
	ToUser    *rawUserMatch    `hcl:"to_user,block"`
	Headers   []rawHeaderMatch `hcl:"header,block"`
	DefRange  hcl.Range        `hcl:",def_range"`
}

type rawUserMatch struct {
	Exact    *hcl.Attribute `hcl:"exact,optional"`
	Prefix   *hcl.Attribute `hcl:"prefix,optional"`
	Regex    *hcl.Attribute `hcl:"regex,optional"`
	DefRange hcl.Range      `hcl:",def_range"`
}

type rawHeaderMatch struct {
	Name      string         `hcl:"name,label"`
	NameRange hcl.Range      `hcl:"name,label_range"`
	Exact     *hcl.Attribute `hcl:"exact,optional"`
	Prefix    *hcl.Attribute `hcl:"prefix,optional"`
	Regex     *hcl.Attribute `hcl:"regex,optional"`
	Present   *hcl.Attribute `hcl:"present,optional"`
	DefRange  hcl.Range      `hcl:",def_range"`
}

type rawRewrite struct {
	Field      string         `hcl:"field,label"`
	FieldRange hcl.Range      `hcl:"field,label_range"`
	Strip      *hcl.Attribute `hcl:"strip,optional"`
	Prefix     *hcl.Attribute `hcl:"prefix,optional"`
	Regex      *hcl.Attribute `hcl:"regex,optional"`
	Replace    *hcl.Attribute `hcl:"replace,optional"`
	DefRange   hcl.Range      `hcl:",def_range"`
}

type rawHeaderOp struct {
	Name      string         `hcl:"name,label"`
	NameRange hcl.Range      `hcl:"name,label_range"`
	Add       *hcl.Attribute `hcl:"add,optional"`
	Set       *hcl.Attribute `hcl:"set,optional"`
	Remove    *hcl.Attribute `hcl:"remove,optional"`
	DefRange  hcl.Range      `hcl:",def_range"`
}

type rawFailover struct {
	On       *hcl.Attribute `hcl:"on,optional"`
	Timeout  *hcl.Attribute `hcl:"timeout,optional"`
	DefRange hcl.Range      `hcl:",def_range"`
}

type rawReject struct {
	Code     *hcl.Attribute `hcl:"code"`
	Reason   *hcl.Attribute `hcl:"reason,optional"`
	DefRange hcl.Range      `hcl:",def_range"`
}

type rawACL struct {
	Interface      string         `hcl:"interface,label"`
	InterfaceRange hcl.Range      `hcl:"interface,label_range"`
	Allow          *hcl.Attribute `hcl:"allow,optional"`
	Deny           *hcl.Attribute `hcl:"deny,optional"`
	Default        *hcl.Attribute `hcl:"default,optional"`
	DefRange       hcl.Range      `hcl:",def_range"`
}
