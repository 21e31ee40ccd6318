#!/usr/bin/perl
# Writes a test geo database (MMDB, the GeoLite2-City schema) for the
# nearest-mirror tests and benchmarks. Not a general MMDB tool: it writes only
# the keys mirrorpool reads (country, continent, location, and a city name
# for people reading mmdblookup output).
#
#   write_mmdb.pl --json networks.json --out test.mmdb
#   write_mmdb.pl --synthetic 1000000 [--prefix-length 24] [--places 300] --out big.mmdb
#
# The JSON file:
#
#   {"networks": {
#      "192.0.2.0/24": {"country": {"iso_code": "DE"}, "continent": {"code": "EU"},
#                       "location": {"latitude": 50.11, "longitude": 8.68},
#                       "city": {"names": {"en": "Frankfurt"}}},
#      "2001:db8:1::/48": {...}}}
#
# Every key of a record is optional. Networks are inserted shortest prefix
# first, so a longer prefix inside a shorter one keeps its own data.
#
# The database: ip_version 6, record_size 28, database_type GeoLite2-City,
# IPv4 aliased into ::ffff:0:0/96 and friends (as MaxMind's own files), and
# reserved networks kept, so that the tests can place 127.0.0.0/8 and the
# documentation networks (192.0.2.0/24, 2001:db8::/32) in it.
#
# The Perl writer is fast enough for benchmarks: 1,000,000 /24s (300 places)
# take about 10 s (8.4 s inserting, 1.5 s writing) and 260 MB of memory on a
# 2-core build machine, and make a 33 MB file; 100,000 take under 2 s.
#
# Debian package: libmaxmind-db-writer-perl. Check the result with
# mmdblookup --file test.mmdb --ip 192.0.2.1 (package mmdb-bin).

use strict;
use warnings;

use Getopt::Long qw(GetOptions);
use JSON::PP ();
use MaxMind::DB::Writer::Tree;
use Time::HiRes qw(time);

my %TYPES = (
    city                => 'map',
    continent           => 'map',
    country             => 'map',
    registered_country  => 'map',
    location            => 'map',
    names               => 'map',
    code                => 'utf8_string',
    iso_code            => 'utf8_string',
    en                  => 'utf8_string',
    geoname_id          => 'uint32',
    latitude            => 'double',
    longitude           => 'double',
    accuracy_radius     => 'uint16',
    time_zone           => 'utf8_string',
    is_in_european_union => 'boolean',
);

sub usage {
    print STDERR <<'EOF';
usage: write_mmdb.pl --json FILE --out FILE
       write_mmdb.pl --synthetic N [--prefix-length L] [--places P] --out FILE
  --json FILE         networks and their records (see the top of this script)
  --synthetic N       N IPv4 networks of /L (default /24), spread evenly over
                      1.0.0.0-223.255.255.255, P (default 300) places cycling
  --quiet             no timing on stderr
EOF
    exit 2;
}

sub new_tree {
    return MaxMind::DB::Writer::Tree->new(
        ip_version               => 6,
        record_size              => 28,
        database_type            => 'GeoLite2-City',
        languages                => ['en'],
        description              => { en => 'mirrorpool test geo database' },
        alias_ipv6_to_ipv4       => 1,
        remove_reserved_networks => 0,
        map_key_type_callback    => sub {
            my $type = $TYPES{ $_[0] };
            die "write_mmdb.pl: unknown key '$_[0]' in a record\n" unless defined $type;
            return $type;
        },
    );
}

sub prefix_length {
    my ($network) = @_;
    return $network =~ m{/(\d+)$} ? $1 : die "write_mmdb.pl: '$network' is not a CIDR network\n";
}

# JSON numbers that look like integers (50 rather than 50.0) would decode as
# Perl integers; the writer needs them as doubles either way, which it does by
# the key's type. Strings for numbers are refused so that typos show.
sub check_record {
    my ($network, $record) = @_;
    die "write_mmdb.pl: $network: the record is not an object\n" unless ref $record eq 'HASH';
    if (my $loc = $record->{location}) {
        for my $k (qw(latitude longitude)) {
            next unless exists $loc->{$k};
            die "write_mmdb.pl: $network: location.$k is not a number\n"
                unless defined $loc->{$k} && $loc->{$k} =~ /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;
            $loc->{$k} += 0.0;
        }
    }
    return $record;
}

sub from_json {
    my ($tree, $path) = @_;
    open my $in, '<:raw', $path or die "write_mmdb.pl: $path: $!\n";
    my $text = do { local $/; <$in> };
    close $in;
    my $doc = JSON::PP->new->utf8->decode($text);
    my $networks = $doc->{networks};
    die "write_mmdb.pl: $path: no \"networks\" object\n" unless ref $networks eq 'HASH';
    my @order = sort { prefix_length($a) <=> prefix_length($b) or $a cmp $b } keys %$networks;
    for my $network (@order) {
        $tree->insert_network($network, check_record($network, $networks->{$network}));
    }
    return scalar @order;
}

# A few hundred distinct places: countries from every continent, points spread
# over the globe (deterministic, so two runs write the same file).
sub synthetic_places {
    my ($count) = @_;
    my @countries = (
        [DE => 'EU'], [FR => 'EU'], [GB => 'EU'], [SE => 'EU'], [IT => 'EU'], [PL => 'EU'],
        [US => 'NA'], [CA => 'NA'], [MX => 'NA'], [BR => 'SA'], [AR => 'SA'], [CL => 'SA'],
        [JP => 'AS'], [CN => 'AS'], [IN => 'AS'], [SG => 'AS'], [KR => 'AS'], [ZA => 'AF'],
        [NG => 'AF'], [KE => 'AF'], [EG => 'AF'], [AU => 'OC'], [NZ => 'OC'], [AQ => 'AN'],
    );
    my @places;
    for my $i (0 .. $count - 1) {
        my ($cc, $cont) = @{ $countries[ $i % @countries ] };
        push @places, {
            country   => { iso_code => $cc, names => { en => "Country $cc" } },
            continent => { code => $cont },
            location  => {
                latitude        => sprintf('%.4f', -60 + (($i * 37) % 1200) / 10.0) + 0.0,
                longitude       => sprintf('%.4f', -180 + (($i * 131) % 3600) / 10.0) + 0.0,
                accuracy_radius => 100,
            },
            city => { names => { en => "Place $i" } },
        };
    }
    return \@places;
}

sub synthetic {
    my ($tree, $count, $length, $place_count) = @_;
    die "write_mmdb.pl: --prefix-length must be 8..32\n" if $length < 8 || $length > 32;
    my $first = 1 << 24;                     # 1.0.0.0
    my $end   = 224 << 24;                   # one past 223.255.255.255
    my $size  = 1 << (32 - $length);
    my $capacity = ($end - $first) / $size;
    die "write_mmdb.pl: $count networks of /$length do not fit in 1.0.0.0-223.255.255.255 "
        . "($capacity do)\n" if $count > $capacity;
    # Spread evenly: network i starts at block i * stride. Adjacent networks get
    # different places, so that no two neighbours could be merged into one.
    my $stride = int($capacity / $count);
    my $places = synthetic_places($place_count);
    for my $i (0 .. $count - 1) {
        my $start = $first + $i * $stride * $size;
        my $net = join('.', ($start >> 24) & 255, ($start >> 16) & 255, ($start >> 8) & 255,
                       $start & 255) . "/$length";
        $tree->insert_network($net, $places->[ $i % @$places ]);
    }
    return $count;
}

my ($json, $out, $synthetic, $quiet);
my $length = 24;
my $places = 300;
GetOptions(
    'json=s'          => \$json,
    'out=s'           => \$out,
    'synthetic=i'     => \$synthetic,
    'prefix-length=i' => \$length,
    'places=i'        => \$places,
    'quiet'           => \$quiet,
) or usage();
usage() unless $out && (defined $json xor defined $synthetic);

my $start = time;
my $tree = new_tree();
my $count = defined $json ? from_json($tree, $json) : synthetic($tree, $synthetic, $length, $places);
my $inserted = time;
# Write beside the target and rename, so that a reader (a reloading server)
# never sees half a file.
my $tmp = "$out.tmp.$$";
open my $fh, '>:raw', $tmp or die "write_mmdb.pl: $tmp: $!\n";
$tree->write_tree($fh);
close $fh or die "write_mmdb.pl: $tmp: $!\n";
rename $tmp, $out or die "write_mmdb.pl: rename to $out: $!\n";
my $done = time;
printf STDERR "write_mmdb.pl: %d networks, insert %.2fs, write %.2fs, %d bytes: %s\n",
    $count, $inserted - $start, $done - $inserted, -s $out, $out unless $quiet;
